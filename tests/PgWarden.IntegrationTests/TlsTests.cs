using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Npgsql;
using PgWarden.Core.Tls;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// TLS on a real cluster: PostgreSQL and PgBouncer refuse plain-text clients, replication and
/// PgBouncer's server connections are encrypted, the agents' API refuses plain HTTP, clients without
/// a certificate signed by the cluster CA, and callers outside the allowlist.
/// </summary>
public sealed class TlsTests(TlsClusterFixture fixture) : IClassFixture<TlsClusterFixture>
{
    private TestCluster Cluster => fixture.Cluster;

    private string TlsDir => Path.Combine(Cluster.Dir, "tls");

    private NpgsqlConnection Connect(string host, int port, string user, string password, SslMode mode) => new(new NpgsqlConnectionStringBuilder
    {
        Host = host, Port = port, Username = user, Password = password, Database = "bookreader",
        SslMode = mode, RootCertificate = Cluster.CaFile, Timeout = 5, Pooling = false,
    }.ConnectionString);

    [Fact]
    public async Task PostgresRefusesAPlainTextClientAndAcceptsAVerifiedOne()
    {
        var secrets = Cluster.ReadSecrets();
        await using (var plain = Connect(Cluster.Address(1), TestCluster.PgPort, "postgres", secrets.Superuser, SslMode.Disable))
        {
            var e = await Assert.ThrowsAsync<PostgresException>(() => plain.OpenAsync());
            Assert.Equal("28000", e.SqlState);
            Assert.Contains("no encryption", e.MessageText);
        }
        await using var tls = Connect(Cluster.Address(1), TestCluster.PgPort, "postgres", secrets.Superuser, SslMode.VerifyFull);
        await tls.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", tls);
        Assert.Equal(true, await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task PgBouncerRefusesAPlainTextClientAndTalksTlsToPostgres()
    {
        var secrets = Cluster.ReadSecrets();
        await using (var plain = Connect(Cluster.Address(1), Cluster.PoolerPort(1), "bookreader_app", secrets.App, SslMode.Disable))
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => plain.OpenAsync());
            Assert.Contains("SSL required", e.Message);
        }
        foreach (var database in new[] { "bookreader", "bookreader_ro" })
        {
            // Each route names one host, whose name PgBouncer checks (server_tls_sslmode = verify-full).
            await using var tls = Cluster.ThroughPooler(1, database);
            await tls.OpenAsync();
            await using var marker = new NpgsqlCommand("SELECT 1", tls);
            await marker.ExecuteScalarAsync();
        }
        // PgBouncer's own connections to the primary (server_tls_sslmode = verify-full).
        await using var primary = Cluster.Superuser(1);
        await primary.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT count(*), bool_and(s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'bookreader_app' AND a.backend_type = 'client backend'", primary);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        Assert.True(r.GetInt64(0) > 0, "no PgBouncer server connection on the primary");
        Assert.True(r.GetBoolean(1), "a PgBouncer server connection is not encrypted");
    }

    [Fact]
    public async Task ReplicationStreamsOverVerifiedTls()
    {
        await using var primary = Cluster.Superuser(1);
        await primary.OpenAsync();
        await using (var cmd = new NpgsqlCommand(
            "SELECT count(*), bool_and(s.ssl) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.state = 'streaming'", primary))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            await r.ReadAsync();
            Assert.Equal(2, r.GetInt64(0));
            Assert.True(r.GetBoolean(1), "a walsender's connection is not encrypted");
        }
        await using var replica = Cluster.Superuser(2);
        await replica.OpenAsync();
        await using var conninfo = new NpgsqlCommand("SELECT conninfo FROM pg_stat_wal_receiver", replica);
        var text = (string)(await conninfo.ExecuteScalarAsync())!;
        Assert.Contains("sslmode=verify-full", text);
        Assert.Contains($"sslrootcert={Cluster.CaFile}", text);
        Assert.DoesNotContain("password=", text.Replace("password=********", ""));
    }

    [Fact]
    public async Task GeneratedKeysAre0600AndOwnedByThePostgresUser()
    {
        foreach (var host in new[] { "pg1", "pg2", "pg3", "pgb1", "pgb2" })
        {
            var key = Path.Combine(TlsDir, host + ".key");
            Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(key));
            using var cert = PemFiles.ReadCertificate(Path.Combine(TlsDir, host + ".crt"));
            Assert.Contains(host, ClusterCertificates.Names(cert));
        }
        var postgres = File.ReadLines("/etc/passwd").First(l => l.StartsWith("postgres:", StringComparison.Ordinal)).Split(':')[2];
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u", Path.Combine(TlsDir, "pg1.key")]) { RedirectStandardOutput = true })!;
        Assert.Equal(postgres, (await stat.StandardOutput.ReadToEndAsync()).Trim());
    }

    [Fact]
    public async Task TheApiRefusesPlainHttp()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        HttpResponseMessage? response = null;
        try
        {
            response = await http.GetAsync($"http://{Cluster.Address(1)}:{TestCluster.ApiPort}/node");
        }
        catch (HttpRequestException)
        {
        }
        Assert.True(response is null || !response.IsSuccessStatusCode, $"plain HTTP answered {(int?)response?.StatusCode}");
        Assert.DoesNotContain("\"role\"", response is null ? "" : await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheApiRefusesAClientWithoutACertificateFromTheClusterCa()
    {
        using (var anonymous = Client(certificate: null))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.GetAsync($"{Cluster.ApiUrl(1)}/health"));
        }
        using var otherCa = CertificateFactory.CreateAuthority("someone else", DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        using var forged = CertificateFactory.IssueClient(otherCa, "pgwarden-admin", DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        using (var stranger = Client(forged))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => stranger.GetAsync($"{Cluster.ApiUrl(1)}/health"));
        }
        using var admin = PemFiles.ReadWithKey(Path.Combine(TlsDir, "admin.crt"), Path.Combine(TlsDir, "admin.key"));
        using var trusted = Client(admin);
        var ok = await trusted.GetAsync($"{Cluster.ApiUrl(1)}/health");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task ACallerOutsideTheAllowlistGets403()
    {
        using var admin = PemFiles.ReadWithKey(Path.Combine(TlsDir, "admin.crt"), Path.Combine(TlsDir, "admin.key"));
        // 127.0.190.77 is on this machine (all of 127/8 is) but neither a node nor in api.allowlist.
        using var outsider = Client(admin, source: IPAddress.Parse($"127.0.{TlsClusterFixture.Subnet}.77"));
        var response = await outsider.GetAsync($"{Cluster.ApiUrl(2)}/node");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("not in the API allowlist", await response.Content.ReadAsStringAsync());

        using var insider = Client(admin);
        Assert.Equal(HttpStatusCode.OK, (await insider.GetAsync($"{Cluster.ApiUrl(2)}/node")).StatusCode);
    }

    [Fact]
    public async Task TheCliWorksWithTlsAndClientCertificates()
    {
        // On a loaded machine (CI, other clusters running) an agent's API can miss status's 3 s probe limit
        // once, and status then reports the cluster degraded: ask again for up to 15 s.
        var status = await Cluster.RunAsync("status", "--json");
        for (var until = DateTime.UtcNow.AddSeconds(15); status.ExitCode != 0 && DateTime.UtcNow < until; status = await Cluster.RunAsync("status", "--json"))
        {
            await Task.Delay(500);
        }
        Assert.True(status.ExitCode == 0, status.ToString());
        var paused = await Cluster.RunAsync("pause");
        Assert.True(paused.ExitCode == 0, paused.ToString());
        var resumed = await Cluster.RunAsync("resume");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var env = await File.ReadAllTextAsync(Path.Combine(Cluster.Dir, "app-connection.env"));
        Assert.Contains("sslmode=verify-full", env);
    }

    /// <summary>An HTTPS client that trusts the cluster CA, presents <paramref name="certificate"/> and connects from <paramref name="source"/>.</summary>
    private HttpClient Client(X509Certificate2? certificate, IPAddress? source = null)
    {
        var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero };
        handler.SslOptions.CertificateChainPolicy = CaTrust.Load(Cluster.CaFile).Policy(CertificateFactory.ServerAuth);
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }
        if (source is not null)
        {
            handler.ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            };
        }
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
    }
}
