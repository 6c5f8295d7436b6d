using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Tests;

/// <summary>
/// Hostile review 17 (issue 12: certificates per role, secrets export per host): host names that two
/// hosts share, and member certificates that do not name their member. Each test failed on the code as merged.
/// </summary>
public sealed class HostileReviewCertNamesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-hostile17-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Nodes = """
        cluster: demo
        nodes:
          - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }
          - { name: pg2, address: 127.0.0.2, port: 5532, api_port: 8008 }

        """;

    /// <summary>
    /// A pooler named like a node was accepted: both are <c>tls/{name}.crt</c> / <c>.key</c>, so `up` issued the
    /// node's certificate and then overwrote it with the pooler's (serverAuth only, the pooler's address) — and
    /// back at the next `up` — and `secrets export --role pooler --name pg1` handed the node's private key
    /// (serverAuth + clientAuth: it opens the other agents' APIs) to the PgBouncer host.
    /// </summary>
    [Fact]
    public void APoolerMayNotShareANodesName()
    {
        var yaml = Nodes + "poolers:\n  - { name: pg1, address: 127.0.0.9, port: 6432 }\n";

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "test.yaml", _dir));

        Assert.Contains("pooler name 'pg1' is also a node's", e.Message);
    }

    /// <summary>
    /// An etcd member on a host of its own is named etcdN by its position in dcs.endpoints; a node or pooler
    /// already called etcdN was accepted. The member then has no certificate of its own (`up` skips a member
    /// whose name a host has, so etcd would serve the node's or pooler's, which does not name the member's
    /// address), and `secrets export --role etcd --name etcd2` wrote that node's (or pooler's) private key into
    /// the etcd host's files: a key of another host, which the export promises never to hand out.
    /// </summary>
    [Theory]
    [InlineData("nodes:\n  - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }\n  - { name: etcd2, address: 127.0.0.2, port: 5532, api_port: 8008 }\n")]
    [InlineData("nodes:\n  - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }\npoolers:\n  - { name: etcd2, address: 127.0.0.1, port: 6432 }\n")]
    public void AHostMayNotTakeTheNameOfAnEtcdMemberOnAnotherHost(string hosts)
    {
        var yaml = "cluster: demo\n" + hosts + "dcs:\n  embedded: false\n  endpoints: [https://127.0.0.1:2379, https://127.0.0.9:2379]\n";

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "test.yaml", _dir));

        Assert.Contains("etcd2", e.Message);
        Assert.Contains("etcd member", e.Message);
    }

    /// <summary>The consequence above, end to end: the etcd export of member etcd2 carried node etcd2's key.</summary>
    [Fact]
    public void AnEtcdExportNeverCarriesANodesKey()
    {
        var config = Path.Combine(_dir, "cluster", "cluster.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        File.WriteAllText(config, "cluster: demo\nnodes:\n  - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }\n  - { name: etcd2, address: 127.0.0.2, port: 5532, api_port: 8008 }\n"
            + "dcs:\n  embedded: false\n  endpoints: [https://127.0.0.1:2379, https://127.0.0.9:2379]\n");
        ClusterConfig cluster;
        try
        {
            cluster = ConfigLoader.LoadFile(config);
        }
        catch (ConfigException)
        {
            return; // refused up front (the fix): nothing can be exported
        }
        var full = ClusterSecrets.Generate();
        full.Save(cluster.SecretsFile);
        ClusterCertificates.EnsureGenerated(cluster, null, DateTimeOffset.UtcNow);
        var nodeKey = File.ReadAllText(cluster.Tls.KeyFile("etcd2"));

        var written = SecretsExport.Write(cluster, full, SecretsRole.Etcd, "etcd2", Path.Combine(_dir, "out"));

        Assert.DoesNotContain(written, f => File.ReadAllText(f.Path) == nodeKey);
    }

    /// <summary>
    /// `install --role etcd` checked the member certificate's chain and usages, not its names: a certificate
    /// that does not name the member's address (a copy of another member's, or issued for the wrong host) passed
    /// the check, and every client (verify-full: etcd's clients check the address) refused the member at run time.
    /// </summary>
    [Fact]
    public void AMemberCertificateThatDoesNotNameTheMembersAddressIsRefusedAtInstall()
    {
        var ca = CertificateFactory.CreateAuthority("ca", DateTimeOffset.UtcNow, TimeSpan.FromDays(30));
        PemFiles.WriteCertificate(Path.Combine(_dir, "ca.crt"), ca);
        Directory.CreateDirectory(Path.Combine(_dir, "certs"));
        // etcd2 is at 127.0.0.9; its certificate names 127.0.0.8 only (etcd3's address).
        using (var wrong = CertificateFactory.IssueHost(ca, "etcd2", ["127.0.0.8"], DateTimeOffset.UtcNow, TimeSpan.FromDays(10), HostCertificateRole.EtcdMember))
        {
            PemFiles.WriteCertificate(Path.Combine(_dir, "certs", "etcd2.crt"), wrong);
            PemFiles.WritePrivateKey(Path.Combine(_dir, "certs", "etcd2.key"), wrong, null);
        }
        using (var right = CertificateFactory.IssueHost(ca, "pg1", ["127.0.0.1"], DateTimeOffset.UtcNow, TimeSpan.FromDays(10), HostCertificateRole.Node))
        {
            PemFiles.WriteCertificate(Path.Combine(_dir, "certs", "pg1.crt"), right);
            PemFiles.WritePrivateKey(Path.Combine(_dir, "certs", "pg1.key"), right, null);
        }
        var cluster = ConfigLoader.Parse(TestClusters.ThreeNodes
            + "\ndcs:\n  embedded: false\n  endpoints: [https://127.0.0.1:2379, https://127.0.0.9:2379]\n"
            + "tls:\n  ca_file: ca.crt\n  cert_file: 'certs/{name}.crt'\n  key_file: 'certs/{name}.key'\n", "test.yaml", _dir);

        var e = Assert.Throws<ConfigException>(() => EtcdMemberCertificate.Check(cluster, "etcd2", requireFiles: true));

        Assert.Contains("does not name 127.0.0.9", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(EtcdMemberCertificate.Check(cluster, "pg1", requireFiles: true));
    }
}
