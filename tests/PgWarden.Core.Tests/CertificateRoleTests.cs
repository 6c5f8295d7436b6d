using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PgWarden.Core.Config;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Tests;

/// <summary>
/// Each generated certificate carries the extended key usages its holder needs and no more: a pooler's
/// serves only (no clientAuth), nodes and etcd members serve and authenticate as clients, the admin and
/// etcd client certificates are clients only; the API's client check refuses anything not issued for
/// clients; an older pooler certificate (with clientAuth) is issued again by `up`.
/// </summary>
public sealed class CertificateRoleTests : IDisposable
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-cert-roles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ClusterConfig Cluster(string extra = "") => ConfigLoader.Parse(TestClusters.ThreeNodes + extra, "test.yaml", _dir);

    private static X509Certificate2 Read(string path) => PemFiles.ReadCertificate(path);

    private const string OwnEtcd = """

        dcs:
          embedded: false
          endpoints: [https://127.0.0.1:2379, https://127.0.0.9:2379]
        """;

    [Fact]
    public void APoolerCertificateServesOnlyAndNodesAndEtcdMembersAlsoAuthenticateAsClients()
    {
        var c = Cluster(OwnEtcd);
        ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow);

        using var pgb1 = Read(c.Tls.CertFile("pgb1"));
        using var pg2 = Read(c.Tls.CertFile("pg2"));
        using var etcd2 = Read(c.Tls.CertFile("etcd2"));   // the member at 127.0.0.9, on a host of its own
        using var admin = Read(c.Tls.AdminCertFile!);
        Assert.Equal(new[] { ServerAuth }, CertificateFactory.Usages(pgb1).Order());
        Assert.Equal(new[] { ServerAuth, ClientAuth }, CertificateFactory.Usages(pg2).Order());
        Assert.Equal(new[] { ServerAuth, ClientAuth }, CertificateFactory.Usages(etcd2).Order());
        Assert.Equal(new[] { ClientAuth }, CertificateFactory.Usages(admin).Order());
    }

    [Fact]
    public void TheApiClientCheckRefusesAPoolerCertificateAndAcceptsNodesAndTheAdmin()
    {
        var c = Cluster();
        ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow);
        var trust = CaTrust.Load(c.Tls.CaFile);

        using var pgb1 = Read(c.Tls.CertFile("pgb1"));
        using var pg1 = Read(c.Tls.CertFile("pg1"));
        using var admin = Read(c.Tls.AdminCertFile!);
        Assert.False(trust.VerifiesClient(pgb1));
        Assert.True(trust.VerifiesClient(pg1));
        Assert.True(trust.VerifiesClient(admin));
    }

    [Fact]
    public void TheApiClientCheckRefusesACertificateWithoutAnyExtendedKeyUsage()
    {
        using var ca = CertificateFactory.CreateAuthority("ca", DateTimeOffset.UtcNow, TimeSpan.FromDays(2));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=no-eku", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var caKey = ca.GetECDsaPrivateKey()!;
        using var noEku = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3]);
        var trust = new CaTrust(ca);

        // RFC 5280 makes it valid for any purpose, and .NET's chain policy agrees; issued for no client, it is refused.
        Assert.True(trust.Verifies(noEku, CertificateFactory.ClientAuth));
        Assert.False(trust.VerifiesClient(noEku));
    }

    [Fact]
    public void UpIssuesAnOlderPoolerCertificateWithClientAuthAgainWithoutIt()
    {
        var c = Cluster();
        var now = DateTimeOffset.UtcNow;
        ClusterCertificates.EnsureGenerated(c, null, now);
        using (var ca = PemFiles.ReadWithKey(c.Tls.CaFile, c.Tls.CaKeyFile!))
        using (var old = CertificateFactory.IssueHost(ca, "pgb1", ["127.0.0.1"], now, TimeSpan.FromDays(700), HostCertificateRole.Node))
        {
            // What PgWarden issued to poolers before: server and client.
            PemFiles.WriteCertificate(c.Tls.CertFile("pgb1"), old);
            PemFiles.WritePrivateKey(c.Tls.KeyFile("pgb1"), old, null);
        }

        var written = ClusterCertificates.EnsureGenerated(c, null, now);

        Assert.Equal(new[] { "pgb1" }, written.Select(w => w.Split(' ')[0]));
        using var pgb1 = Read(c.Tls.CertFile("pgb1"));
        Assert.Equal(new[] { ServerAuth }, CertificateFactory.Usages(pgb1).Order());
        Assert.Empty(ClusterCertificates.EnsureGenerated(c, null, now));
    }

    [Fact]
    public void EtcdClientCertificatesOfTheirOwnAreIssuedClientOnlyForNodesAndPoolers()
    {
        var c = Cluster(OwnEtcd + "\n  cert_file: 'tls/{name}-etcd.crt'\n  key_file: 'tls/{name}-etcd.key'\n");
        var written = ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow);

        foreach (var host in new[] { "pg1", "pg2", "pg3", "pgb1", "pgb2" })
        {
            var tls = c.Dcs.ClientTls(host)!;
            Assert.Equal(Path.Combine(_dir, "tls", host + "-etcd.crt"), tls.CertFile);
            using var cert = Read(tls.CertFile!);
            Assert.Equal(new[] { ClientAuth }, CertificateFactory.Usages(cert).Order());
            Assert.True(File.Exists(tls.KeyFile));
            Assert.Contains(written, w => w.StartsWith($"etcd client {host} ", StringComparison.Ordinal));
        }
        Assert.Empty(ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow));
    }

    [Fact]
    public void GeneratedTlsRefusesTheHostCertificatesAsEtcdClientCertificates()
    {
        var e = Assert.Throws<Errors.ConfigException>(() => Cluster(OwnEtcd + "\n  cert_file: 'tls/{name}.crt'\n  key_file: 'tls/{name}.key'\n"));
        var problems = string.Join('\n', e.Problems);

        Assert.Contains("dcs.cert_file: names the hosts' own certificates", problems);
        Assert.Contains("a generated pooler certificate has no clientAuth", problems);
    }
}
