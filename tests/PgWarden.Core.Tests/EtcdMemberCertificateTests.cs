using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Tests;

/// <summary>
/// `install --role etcd` checks the certificate the member will serve by its chain and usages, not by
/// comparing paths: one that does not chain to the CA etcd's clients trust (dcs.ca_file), or lacks the
/// clientAuth its peers require, is one clear error line instead of an etcd nobody can talk to.
/// </summary>
public sealed class EtcdMemberCertificateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-etcd-member-cert-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string OwnEtcd = "\ndcs:\n  embedded: false\n  endpoints: [https://127.0.0.1:2379, https://127.0.0.9:2379]\n";

    private ClusterConfig Cluster(string extra) => ConfigLoader.Parse(TestClusters.ThreeNodes + OwnEtcd + extra, "test.yaml", _dir);

    /// <summary>Writes a CA to <paramref name="name"/>.crt / .key under the test directory and returns it.</summary>
    private System.Security.Cryptography.X509Certificates.X509Certificate2 WriteCa(string name)
    {
        var ca = CertificateFactory.CreateAuthority(name, DateTimeOffset.UtcNow, TimeSpan.FromDays(30));
        PemFiles.WriteCertificate(Path.Combine(_dir, name + ".crt"), ca);
        return ca;
    }

    private void WriteHost(System.Security.Cryptography.X509Certificates.X509Certificate2 ca, string name, string address, HostCertificateRole role)
    {
        using var host = CertificateFactory.IssueHost(ca, name, [address], DateTimeOffset.UtcNow, TimeSpan.FromDays(10), role);
        PemFiles.WriteCertificate(Path.Combine(_dir, "certs", name + ".crt"), host);
        PemFiles.WritePrivateKey(Path.Combine(_dir, "certs", name + ".key"), host, null);
    }

    private string FilesTls(string ca) => $"tls:\n  ca_file: {ca}.crt\n  cert_file: 'certs/{{name}}.crt'\n  key_file: 'certs/{{name}}.key'\n";

    [Fact]
    public void AMemberCertificateNotSignedByTheClientsCaIsOneClearError()
    {
        // Generated TLS signs the member's certificate; dcs.ca_file names another CA: the clients would refuse etcd.
        var c = Cluster("  ca_file: other-ca.crt\n");
        ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow);
        using var other = WriteCa("other-ca");

        var e = Assert.Throws<ConfigException>(() => EtcdMemberCertificate.Check(c, "etcd2", requireFiles: true));

        Assert.StartsWith($"etcd member etcd2's certificate {_dir}/tls/etcd2.crt is not signed by the CA etcd's clients and peers trust", e.Message);
        Assert.Contains("CN=other-ca", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(EtcdMemberCertificate.Check(Cluster(""), "etcd2", requireFiles: true));   // dcs.ca_file = tls.ca_file: fine
    }

    [Fact]
    public void TheSameCaUnderAnotherPathIsAccepted()
    {
        var c = Cluster("  ca_file: copy-of-ca.crt\n");
        ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow);
        File.Copy(c.Tls.CaFile, Path.Combine(_dir, "copy-of-ca.crt"));

        Assert.Null(EtcdMemberCertificate.Check(c, "pg1", requireFiles: true));
    }

    [Fact]
    public void OwnCertificatesWithoutClientAuthForAMemberAreRefusedAtInstall()
    {
        using var ca = WriteCa("ca");
        Directory.CreateDirectory(Path.Combine(_dir, "certs"));
        WriteHost(ca, "etcd2", "127.0.0.9", HostCertificateRole.Pooler);   // serverAuth only
        WriteHost(ca, "pg1", "127.0.0.1", HostCertificateRole.Node);
        var c = Cluster(FilesTls("ca"));

        var e = Assert.Throws<ConfigException>(() => EtcdMemberCertificate.Check(c, "etcd2", requireFiles: false));

        Assert.Equal($"etcd member etcd2's certificate {_dir}/certs/etcd2.crt has no clientAuth (it presents it to its peers, which require a client certificate) in its extended key usage: etcd would refuse it at run time; issue it with serverAuth and clientAuth", e.Message);
        Assert.Null(EtcdMemberCertificate.Check(c, "pg1", requireFiles: true));
    }

    [Fact]
    public void AMissingCertificateIsANoteForOutputAndAnErrorForSystem()
    {
        using var ca = WriteCa("ca");
        var c = Cluster(FilesTls("ca"));

        Assert.StartsWith("note: etcd member etcd2's certificate", EtcdMemberCertificate.Check(c, "etcd2", requireFiles: false));
        var e = Assert.Throws<ConfigException>(() => EtcdMemberCertificate.Check(c, "etcd2", requireFiles: true));
        Assert.Contains("install both first", e.Message);
    }

    [Fact]
    public void NothingToCheckOverHttp() =>
        Assert.Null(EtcdMemberCertificate.Check(ConfigLoader.Parse(TestClusters.ThreeNodes + "\ndcs:\n  embedded: false\n  endpoints: [http://127.0.0.9:2379]\n", "test.yaml", _dir), "etcd1", requireFiles: true));

    [Fact]
    public void TheSingleMemberEmbeddedEtcdNeedsNoClientAuthButItsClientsMustTrustIt()
    {
        using var ca = WriteCa("ca");
        Directory.CreateDirectory(Path.Combine(_dir, "certs"));
        WriteHost(ca, "pg1", "127.0.0.1", HostCertificateRole.Pooler);   // serverAuth only: no peer ever asks for it
        var embedded = ConfigLoader.Parse(TestClusters.ThreeNodes + "\n" + FilesTls("ca"), "test.yaml", _dir);
        Assert.Null(EtcdMemberCertificate.Check(embedded, "pg1", requireFiles: true));

        using var other = WriteCa("other");
        var distrusted = ConfigLoader.Parse(TestClusters.ThreeNodes + "\n" + FilesTls("ca") + "dcs:\n  ca_file: other.crt\n", "test.yaml", _dir);
        Assert.Contains("is not signed by the CA etcd's clients and peers trust", Assert.Throws<ConfigException>(() => EtcdMemberCertificate.Check(distrusted, "pg1", requireFiles: true)).Message);
    }
}
