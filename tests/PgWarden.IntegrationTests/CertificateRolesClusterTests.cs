using System.Net;
using Npgsql;
using PgWarden.Core.Tls;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// A generated-TLS cluster on 127.0.240.0/24 with the API requiring client certificates: every PgBouncer
/// route names one host and PgBouncer verifies it (verify-full), the two PgBouncers read from different
/// replicas, and the agents' API refuses a pooler's certificate (serverAuth only) as a client certificate
/// while it accepts a node's.
/// </summary>
public sealed class CertificateRolesClusterTests(CertificateRolesClusterTests.Fixture fixture) : IClassFixture<CertificateRolesClusterTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public TestCluster Cluster { get; } = new(subnet: 240, extraYaml: "api: { require_client_cert: true }");

        public async Task InitializeAsync() => await Cluster.UpAsync();

        public async Task DisposeAsync() => await Cluster.DisposeAsync();
    }

    private TestCluster Cluster => fixture.Cluster;

    private static async Task<string> ServerAddressAsync(NpgsqlConnection conn)
    {
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT host(inet_server_addr()) || ' ' || pg_is_in_recovery()", conn);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task EachPgBouncerVerifiesOneNamedServerPerRouteAndTheyReadFromDifferentReplicas()
    {
        foreach (var pooler in new[] { "pgb1", "pgb2" })
        {
            var ini = await File.ReadAllLinesAsync(Path.Combine(Cluster.Dir, "poolers", pooler, "pgbouncer.ini"));
            Assert.Contains("server_tls_sslmode = verify-full", ini);
            Assert.All(ini.Where(l => l.StartsWith("bookreader", StringComparison.Ordinal)), l => Assert.DoesNotContain(',', l));
        }
        await using (var write = Cluster.ThroughPooler(1))
        {
            Assert.Equal($"{Cluster.Address(1)} false", await ServerAddressAsync(write));
        }
        await using var read1 = Cluster.ThroughPooler(1, "bookreader_ro");
        await using var read2 = Cluster.ThroughPooler(2, "bookreader_ro");
        Assert.Equal($"{Cluster.Address(2)} true", await ServerAddressAsync(read1));
        Assert.Equal($"{Cluster.Address(3)} true", await ServerAddressAsync(read2));
    }

    [Fact]
    public async Task TheApiRefusesAPoolerCertificateAsAClientAndAcceptsANodes()
    {
        async Task<HttpStatusCode?> HealthWith(string host)
        {
            using var mine = PemFiles.ReadWithKey(Path.Combine(Cluster.Dir, "tls", host + ".crt"), Path.Combine(Cluster.Dir, "tls", host + ".key"));
            var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero };
            handler.SslOptions.CertificateChainPolicy = CaTrust.Load(Cluster.CaFile).Policy(CertificateFactory.ServerAuth);
            handler.SslOptions.ClientCertificates = [mine];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => mine;
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                return (await http.GetAsync($"{Cluster.ApiUrl(1)}/health")).StatusCode;
            }
            catch (HttpRequestException)
            {
                return null;
            }
        }

        Assert.Equal(HttpStatusCode.OK, await HealthWith("pg2"));
        Assert.Null(await HealthWith("pgb1"));
    }
}
