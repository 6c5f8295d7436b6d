using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Tls;
using PgWarden.Postgres.Tls;

namespace PgWarden.Core.Tests;

/// <summary>
/// The client side of the agents' API and of libpq tools: the cluster CA is the only trust (a server
/// certificate from another CA, or one naming another address, is refused), and TLS is never left to
/// chance (disabled means sslmode=disable, on means verify-full).
/// </summary>
public sealed class ApiTlsClientTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-tls-client-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ClusterConfig Cluster()
    {
        var c = ConfigLoader.Parse(TestClusters.ThreeNodes, "test.yaml", _dir);
        ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow);
        return c;
    }

    /// <summary>A one-request HTTPS server on 127.0.0.1 presenting <paramref name="certificate"/>; answers 200 "ok".</summary>
    private static async Task<(int Port, Task Serving)> ServeAsync(X509Certificate2 certificate)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = Task.Run(async () =>
        {
            try
            {
                using var client = await listener.AcceptTcpClientAsync();
                await using var tls = new SslStream(client.GetStream());
                await tls.AuthenticateAsServerAsync(certificate);
                var buffer = new byte[4096];
                var request = "";
                while (!request.Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await tls.ReadAsync(buffer);
                    if (read == 0)
                    {
                        return;
                    }
                    request += System.Text.Encoding.ASCII.GetString(buffer, 0, read);
                }
                await tls.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray());
            }
            catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
            {
                // The client refused the certificate: what some tests expect.
            }
            finally
            {
                listener.Stop();
            }
        });
        await Task.Yield();
        return (port, serving);
    }

    private static async Task<string> GetAsync(ClusterConfig cluster, int port)
    {
        using var http = AgentClient.CreateHttpClient(TimeSpan.FromSeconds(5), cluster);
        return await http.GetStringAsync($"https://127.0.0.1:{port}/health");
    }

    [Fact]
    public async Task AServerWithACertificateFromTheClusterCaForItsAddressIsTrusted()
    {
        var c = Cluster();
        using var server = PemFiles.ReadWithKey(c.Tls.CertFile("pg1"), c.Tls.KeyFile("pg1"));   // names 127.0.0.1
        var (port, serving) = await ServeAsync(server);

        Assert.Equal("ok", await GetAsync(c, port));
        await serving;
    }

    [Fact]
    public async Task AServerWithACertificateFromAnotherCaIsRefused()
    {
        var c = Cluster();
        using var otherCa = CertificateFactory.CreateAuthority("not the cluster's", DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        using var impostor = CertificateFactory.IssueHost(otherCa, "pg1", ["127.0.0.1"], DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        var (port, serving) = await ServeAsync(impostor);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(c, port));
        Assert.IsType<System.Security.Authentication.AuthenticationException>(e.InnerException);
        await serving;
    }

    [Fact]
    public async Task AClusterCertificateNamingAnotherAddressIsRefused()
    {
        var c = Cluster();
        using var pg2 = PemFiles.ReadWithKey(c.Tls.CertFile("pg2"), c.Tls.KeyFile("pg2"));   // names 127.0.0.2, served on 127.0.0.1
        var (port, serving) = await ServeAsync(pg2);

        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(c, port));
        await serving;
    }

    [Fact]
    public void LibpqToolsVerifyFullWithTheCaOrAreExplicitlyPlain()
    {
        var c = ConfigLoader.Parse(TestClusters.ThreeNodes, "test.yaml", _dir);
        var on = ClientTls.LibpqEnvironment(c);
        Assert.Equal("verify-full", on["PGSSLMODE"]);
        Assert.Equal(Path.Combine(_dir, "tls", "ca.crt"), on["PGSSLROOTCERT"]);
        Assert.False(on.ContainsKey("PGSSLCERT"));
        Assert.Equal(Path.Combine(_dir, "tls", "admin.crt"), ClientTls.LibpqEnvironment(c, clientCertificate: true)["PGSSLCERT"]);

        var off = ClientTls.LibpqEnvironment(ConfigLoader.Parse(TestClusters.ThreeNodes + "\ntls: disabled\n", "test.yaml", _dir));
        Assert.Equal(new Dictionary<string, string> { ["PGSSLMODE"] = "disable" }, off);
    }

    [Fact]
    public void NpgsqlConnectionsVerifyFullAgainstTheClusterCa()
    {
        var c = ConfigLoader.Parse(TestClusters.ThreeNodes + "\ntls: { pooler_client_sslmode: verify-ca }\n", "test.yaml", _dir);
        var toNode = ClientTls.Apply(new Npgsql.NpgsqlConnectionStringBuilder(), c);
        var toPooler = ClientTls.Apply(new Npgsql.NpgsqlConnectionStringBuilder(), c, toPooler: true);

        Assert.Equal(Npgsql.SslMode.VerifyFull, toNode.SslMode);
        Assert.Equal(c.Tls.CaFile, toNode.RootCertificate);
        Assert.Null(toNode.SslCertificate);
        Assert.Equal(c.Tls.AdminCertFile, toPooler.SslCertificate);
    }
}
