using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Install;
using PgWarden.Core.Tests.Install;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Tests;

/// <summary>
/// Hostile review 15 of etcd over TLS (8b2536a): configurations that validate but cannot work, and a
/// client certificate setting that is silently not enforced.
/// </summary>
public sealed class HostileReview15Tests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-review15-").FullName;
    private static readonly DateTimeOffset s_now = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Nodes = """
        cluster: shop
        nodes:
          - { name: pg1, address: 10.20.0.11, port: 5432, api_port: 8008 }
          - { name: pg2, address: 10.20.0.12, port: 5432, api_port: 8008 }

        """;

    private static string Problems(string yaml) =>
        string.Join('\n', Assert.Throws<ConfigException>(() => TestClusters.Parse(yaml)).Problems);

    private static UnitText EtcdUnit(ClusterConfig cluster, string member) =>
        new(Assert.Single(UnitGenerator.Generate(new InstallRequest(cluster, InstallRole.Etcd, member, ["/usr/bin/pgwarden"])), f => f.Kind == InstallFileKind.Unit).Content);

    /// <summary>
    /// tls: disabled, your own etcd on https with its own CA (dcs.ca_file): the configuration is valid,
    /// but `install --role etcd` used to write ETCD_CERT_FILE= (empty) and LoadCredential=etcd.key: (no
    /// path) from the disabled tls: section — an etcd member that cannot start. It is refused instead.
    /// </summary>
    [Fact]
    public void InstallingAnHttpsEtcdMemberWithoutTheClustersCertificatesIsRefused()
    {
        var cluster = TestClusters.Parse(Nodes + "tls: disabled\ndcs:\n  embedded: false\n  endpoints: [https://10.20.0.11:2379, https://10.20.0.12:2379]\n  ca_file: /etc/etcd/ca.crt\n");
        var e = Assert.ThrowsAny<PgWardenException>(() => EtcdUnit(cluster, "pg1"));
        Assert.Contains("tls:", e.Message);
    }

    /// <summary>
    /// Generated TLS, your own etcd on hosts of its own (etcd1, etcd2): the member's unit serves
    /// tls/etcd1.crt, but `pgwarden up` generated certificates for the nodes and poolers only, so the
    /// file the unit names never existed.
    /// </summary>
    [Fact]
    public void TheCertificateAnEtcdMemberOnItsOwnHostServesIsGenerated()
    {
        var cluster = ConfigLoader.Parse(Nodes + "dcs:\n  embedded: false\n  endpoints: [https://10.20.0.31:2379, https://10.20.0.32:2379]\n", "test.yaml", _dir);
        ClusterCertificates.EnsureGenerated(cluster, null, s_now);
        var env = EtcdUnit(cluster, "etcd1").All("Service", "Environment");
        var certFile = cluster.Tls.CertFile("etcd1");
        Assert.Contains($"\"ETCD_CERT_FILE={certFile}\"", env);
        Assert.True(File.Exists(certFile), $"{certFile}: the etcd member's certificate was not generated");
        using var cert = PemFiles.ReadCertificate(certFile);
        Assert.Contains("10.20.0.31", ClusterCertificates.Names(cert));
    }

    /// <summary>
    /// An embedded etcd serves the first node's certificate (its name and address): an endpoint written
    /// with another host (here 127.0.0.1) validated, and every client then refused etcd's certificate.
    /// </summary>
    [Fact]
    public void AnEmbeddedEndpointTheFirstNodesCertificateDoesNotNameIsRefused() =>
        Assert.Contains("certificate", Problems(Nodes + "dcs:\n  embedded: true\n  endpoints: [https://127.0.0.1:2479]\n"));

    [Fact]
    public void AnEmbeddedEndpointNamingTheFirstNodeIsAccepted()
    {
        Assert.Equal("https://10.20.0.11:2479", Assert.Single(TestClusters.Parse(Nodes + "dcs:\n  embedded: true\n  endpoints: [https://10.20.0.11:2479]\n").Dcs.Endpoints));
        Assert.Equal("https://pg1:2479", Assert.Single(TestClusters.Parse(Nodes + "dcs:\n  embedded: true\n  endpoints: [https://pg1:2479]\n").Dcs.Endpoints));
    }

    /// <summary>
    /// dcs.cert_file with the embedded etcd: the clients present a certificate, but the embedded etcd is
    /// started without --client-cert-auth (DcsServerHost.ServerTls), so a client without one is served
    /// as well — the setting looks like it protects etcd and does not. Refused instead.
    /// </summary>
    [Fact]
    public void AClientCertificateTheEmbeddedEtcdWouldNotRequireIsRefused() =>
        Assert.Contains("cert_file", Problems(Nodes + "dcs:\n  cert_file: /etc/pgwarden/tls/{name}.crt\n  key_file: /etc/pgwarden/tls/{name}.key\n"));
}
