using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Npgsql;
using PgWarden.Core.Config;
using PgWarden.Core.Rendering;
using PgWarden.Core.Security;
using PgWarden.Core.Tls;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Who may pose as PostgreSQL to a real PgBouncer 1.18 running the pgbouncer.ini PgWarden renders
/// (generated certificates): a fake server at node pg1's address answers PgBouncer's SSLRequest and
/// completes the TLS handshake only if PgBouncer accepts the certificate it presents. pg1's own
/// certificate is accepted; a pooler's certificate, or another node's, signed by the same cluster CA,
/// is refused (server_tls_sslmode = verify-full with one host per [databases] entry — with the
/// former verify-ca PgBouncer accepted both impostors). Loopback subnet 127.0.240.0/24.
/// </summary>
public sealed class PgBouncerServerTlsTests : IDisposable
{
    private const string Subnet = "127.0.240";
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-bouncer-tls-").FullName;
    private readonly int _serverPort = FreePort($"{Subnet}.10");
    private readonly int _poolerPort = FreePort($"{Subnet}.1");
    private readonly ClusterConfig _cluster;
    private readonly ClusterSecrets _secrets = ClusterSecrets.Generate();
    private Process? _pgbouncer;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    private void Log(string? line)
    {
        if (line is not null)
        {
            _log.Enqueue(line);
        }
    }

    private string LogText => string.Join('\n', _log);

    public PgBouncerServerTlsTests()
    {
        var postgres = File.ReadLines("/etc/passwd").First(l => l.StartsWith("postgres:", StringComparison.Ordinal)).Split(':');
        var owner = (uint.Parse(postgres[2]), uint.Parse(postgres[3]));
        _cluster = ConfigLoader.Parse($$"""
            cluster: bouncertls
            nodes:
              - { name: pg1, address: {{Subnet}}.10, port: {{_serverPort}}, api_port: 8008 }
              - { name: pg2, address: {{Subnet}}.11, port: {{_serverPort}}, api_port: 8008 }
            poolers:
              - { name: pgb1, address: {{Subnet}}.1, port: {{_poolerPort}} }
            """, "cluster.yaml", _dir);
        ClusterCertificates.EnsureGenerated(_cluster, owner, DateTimeOffset.UtcNow);
        var home = _cluster.Poolers[0].HomeDir(_cluster);
        Directory.CreateDirectory(Path.Combine(home, "run"));
        File.WriteAllText(Path.Combine(home, "pgbouncer.ini"), PgBouncerIniRenderer.Render(_cluster, _cluster.Poolers[0], _cluster.Node("pg1"), []));
        File.WriteAllText(Path.Combine(home, "userlist.txt"), PgBouncerIniRenderer.RenderUserList(
        [
            new(_cluster.Database.AppUser, ScramSecret.ForRole(_cluster.Database.AppUser, _secrets.AppPassword)),
        ]));
        Chown(postgres[2], postgres[3], _dir);
    }

    public void Dispose()
    {
        if (_pgbouncer is { HasExited: false })
        {
            _pgbouncer.Kill();
            _pgbouncer.WaitForExit(5000);
        }
        _pgbouncer?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task PgBouncerAcceptsTheNodesOwnCertificate()
    {
        Assert.Equal("verify-full", Setting("server_tls_sslmode"));
        Assert.True(await HandshakeAsync("pg1"), $"PgBouncer refused pg1's own certificate at pg1's address:\n{LogText}");
    }

    [Fact]
    public async Task APoolerCertificateOfTheClusterCaCannotPoseAsPostgres()
    {
        Assert.False(await HandshakeAsync("pgb1"), "PgBouncer accepted the pooler's certificate as PostgreSQL pg1's");
        Assert.Contains($"name `{Subnet}.10' not present in server certificate", LogText);
    }

    [Fact]
    public async Task AnotherNodesCertificateCannotPoseAsThePrimary()
    {
        Assert.False(await HandshakeAsync("pg2"), "PgBouncer accepted pg2's certificate for pg1's address");
        Assert.Contains($"name `{Subnet}.10' not present in server certificate", LogText);
    }

    private string Setting(string key) =>
        File.ReadLines(Path.Combine(_cluster.Poolers[0].HomeDir(_cluster), "pgbouncer.ini"))
            .Single(l => l.StartsWith(key + " = ", StringComparison.Ordinal))[(key.Length + 3)..];

    /// <summary>
    /// Starts PgBouncer, serves pg1's address with <paramref name="host"/>'s certificate, logs a client in
    /// through PgBouncer (which then opens a server connection), and says whether any TLS handshake with
    /// PgBouncer completed — in TLS 1.3 the server's side completes only after the client verified it.
    /// </summary>
    private async Task<bool> HandshakeAsync(string host)
    {
        using var certificate = PemFiles.ReadWithKey(_cluster.Tls.CertFile(host), _cluster.Tls.KeyFile(host));
        // .NET needs an exportable copy of a PEM key to serve it on Linux.
        using var served = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
        var listener = new TcpListener(IPAddress.Parse($"{Subnet}.10"), _serverPort);
        listener.Start();
        var accepted = 0;
        var attempts = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var connections = new List<Task>();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                Interlocked.Increment(ref attempts);
                lock (connections)
                {
                    connections.Add(ServeOneAsync(client));
                }
            }
        });

        async Task ServeOneAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var request = new byte[8];
                    await stream.ReadExactlyAsync(request, stop.Token);   // SSLRequest: length 8, code 80877103
                    await stream.WriteAsync("S"u8.ToArray(), stop.Token);
                    await using var tls = new SslStream(stream);
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = served }, stop.Token);
                    // PgBouncer's startup packet: it accepted the certificate and goes on to log in. One that
                    // refused it sends an alert or closes instead (libtls checks the name after the handshake).
                    var probe = new byte[1];
                    if (await tls.ReadAsync(probe, stop.Token) > 0)
                    {
                        Interlocked.Increment(ref accepted);
                    }
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                {
                }
            }
        }

        try
        {
            StartPgBouncer();
            await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder
            {
                Host = $"{Subnet}.1", Port = _poolerPort, Database = _cluster.Database.Name, Username = _cluster.Database.AppUser,
                Password = _secrets.AppPassword, SslMode = SslMode.VerifyFull, RootCertificate = _cluster.Tls.CaFile,
                Timeout = 10, Pooling = false,
            }.ConnectionString);
            // The client's login makes PgBouncer open a server connection; the fake server never completes one.
            using var giveUp = new CancellationTokenSource();
            var opening = conn.OpenAsync(giveUp.Token);
            var deadline = DateTime.UtcNow.AddSeconds(8);
            while (Volatile.Read(ref attempts) < 2 && Volatile.Read(ref accepted) == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => opening);
            Assert.True(Volatile.Read(ref attempts) > 0, "PgBouncer never connected to the server");
            return Volatile.Read(ref accepted) > 0;
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
            Task[] pending;
            lock (connections)
            {
                pending = [.. connections];
            }
            await Task.WhenAll(pending);
        }
    }

    private void StartPgBouncer()
    {
        var ini = Path.Combine(_cluster.Poolers[0].HomeDir(_cluster), "pgbouncer.ini");
        var psi = new ProcessStartInfo("/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", "/usr/sbin/pgbouncer", ini])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        _pgbouncer = Process.Start(psi)!;
        _pgbouncer.OutputDataReceived += (_, e) => Log(e.Data);
        _pgbouncer.ErrorDataReceived += (_, e) => Log(e.Data);
        _pgbouncer.BeginOutputReadLine();
        _pgbouncer.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect($"{Subnet}.1", _poolerPort);
                return;
            }
            catch (SocketException)
            {
                Assert.False(_pgbouncer.HasExited, $"pgbouncer exited with {(_pgbouncer.HasExited ? _pgbouncer.ExitCode : 0)}");
                Thread.Sleep(100);
            }
        }
        Assert.Fail("pgbouncer did not listen within 10 s");
    }

    private static int FreePort(string address)
    {
        var l = new TcpListener(IPAddress.Parse(address), 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static void Chown(string uid, string gid, string dir)
    {
        using var p = Process.Start("chown", ["-R", $"{uid}:{gid}", dir])!;
        p.WaitForExit();
    }
}
