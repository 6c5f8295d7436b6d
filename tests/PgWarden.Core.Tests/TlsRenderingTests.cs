using PgWarden.Core.Config;
using PgWarden.Core.Rendering;

namespace PgWarden.Core.Tests;

/// <summary>What TLS changes in postgresql.conf, pg_hba.conf, primary_conninfo and pgbouncer.ini — and that disabled means plain, said out loud.</summary>
public class TlsRenderingTests
{
    private static readonly ClusterConfig s_tls = TestClusters.Demo();
    private static readonly ClusterConfig s_plain = TestClusters.Parse(TestClusters.ThreeNodes + "\ntls: disabled\n");

    private static Dictionary<string, string> Conf(ClusterConfig c, string node, string? upstream) =>
        PostgresConfRenderer.Render(TestClusters.Context(c, node, upstream)).Split('\n')
            .Where(l => l.Contains(" = ", StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => l.Split(" = ", 2))
            .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.Last()[1].Split("    #")[0]);

    private static List<string[]> TcpRules(ClusterConfig c) =>
        PgHbaRenderer.Render(TestClusters.Context(c, "pg1", null)).Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(r => r[0] != "local").ToList();

    private static Dictionary<string, string> Ini(ClusterConfig c) =>
        PgBouncerIniRenderer.Render(c, c.Poolers[1], c.Node("pg1"), [c.Node("pg2")]).Split('\n')
            .SkipWhile(l => l != "[pgbouncer]").Skip(1)
            .Where(l => l.Contains(" = ", StringComparison.Ordinal))
            .Select(l => l.Split(" = ", 2)).ToDictionary(kv => kv[0], kv => kv[1]);

    [Fact]
    public void PostgresServesTlsWithTheNodesOwnCertificate()
    {
        var s = Conf(s_tls, "pg2", "pg1");

        Assert.Equal("on", s["ssl"]);
        Assert.Equal("'/tmp/base/tls/pg2.crt'", s["ssl_cert_file"]);
        Assert.Equal("'/tmp/base/tls/pg2.key'", s["ssl_key_file"]);
        Assert.Equal("'/tmp/base/tls/ca.crt'", s["ssl_ca_file"]);
        Assert.Equal("'TLSv1.2'", s["ssl_min_protocol_version"]);
    }

    [Fact]
    public void ReplicationVerifiesTheUpstreamAgainstTheClusterCa()
    {
        var conninfo = Conf(s_tls, "pg2", "pg1")["primary_conninfo"];

        Assert.Contains("sslmode=verify-full sslrootcert=''/tmp/base/tls/ca.crt''", conninfo);
        Assert.DoesNotContain("sslmode=prefer", conninfo);
        Assert.DoesNotContain("password=", conninfo);
    }

    [Fact]
    public void EveryRemoteHbaRuleIsHostsslAndTheSocketKeepsItsLocalRules()
    {
        var hba = PgHbaRenderer.Render(TestClusters.Context(s_tls, "pg1", null));

        Assert.Equal(8, TcpRules(s_tls).Count);
        Assert.All(TcpRules(s_tls), r => Assert.Equal("hostssl", r[0]));
        Assert.Contains("local   all             postgres                                peer map=pgwarden", hba);
        Assert.Contains("local   bookreader      bookreader_app                          scram-sha-256", hba);
    }

    [Fact]
    public void PgBouncerRequiresTlsFromClientsAndVerifiesTheServers()
    {
        var ini = Ini(s_tls);

        Assert.Equal("require", ini["client_tls_sslmode"]);
        Assert.Equal("/tmp/base/tls/pgb2.crt", ini["client_tls_cert_file"]);
        Assert.Equal("/tmp/base/tls/pgb2.key", ini["client_tls_key_file"]);
        Assert.Equal("/tmp/base/tls/ca.crt", ini["client_tls_ca_file"]);
        // verify-full: each [databases] entry names one host, whose name PgBouncer checks, so a pooler's
        // (or any other) certificate of the cluster CA cannot pose as PostgreSQL.
        Assert.Equal("verify-full", ini["server_tls_sslmode"]);
        Assert.Equal("/tmp/base/tls/ca.crt", ini["server_tls_ca_file"]);
    }

    [Fact]
    public void PgBouncerClientModeFollowsTheConfiguration()
    {
        var c = TestClusters.Parse(TestClusters.ThreeNodes + "\ntls: { pooler_client_sslmode: verify-full }\n");

        Assert.Equal("verify-full", Ini(c)["client_tls_sslmode"]);
    }

    [Fact]
    public void DisabledRendersPlainTextEverywhere()
    {
        var s = Conf(s_plain, "pg2", "pg1");
        var ini = Ini(s_plain);

        Assert.Equal("off", s["ssl"]);
        Assert.False(s.ContainsKey("ssl_cert_file"));
        Assert.Contains("sslmode=disable", s["primary_conninfo"]);
        Assert.All(TcpRules(s_plain), r => Assert.Equal("host", r[0]));
        Assert.Equal("disable", ini["client_tls_sslmode"]);
        Assert.Equal("disable", ini["server_tls_sslmode"]);
        Assert.False(ini.ContainsKey("client_tls_key_file"));
    }

    [Fact]
    public void OwnCertificateFilesAreRenderedPerHost()
    {
        var c = TestClusters.Parse(TestClusters.ThreeNodes + "\ntls:\n  ca_file: /etc/pki/ca.pem\n  cert_file: /etc/pki/{name}.pem\n  key_file: /etc/pki/{name}-key.pem\n");

        Assert.Equal("'/etc/pki/pg3-key.pem'", Conf(c, "pg3", null)["ssl_key_file"]);
        Assert.Equal("/etc/pki/pgb2.pem", Ini(c)["client_tls_cert_file"]);
        Assert.Equal("/etc/pki/ca.pem", Ini(c)["server_tls_ca_file"]);
    }
}
