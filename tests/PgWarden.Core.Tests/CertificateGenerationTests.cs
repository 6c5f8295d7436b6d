using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Processes;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Tests;

/// <summary>The generated CA and host certificates: names, validity, trust, key permissions and renewal.</summary>
public sealed class CertificateGenerationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-tls-test-").FullName;
    private static readonly DateTimeOffset s_now = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ClusterConfig Cluster(string yaml = TestClusters.ThreeNodes) => ConfigLoader.Parse(yaml, "test.yaml", _dir);

    private static X509Certificate2 Read(string path) => PemFiles.ReadCertificate(path);

    private static string Owner(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", ["-c", "%u:%g", path]) { RedirectStandardOutput = true })!;
        var text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return text;
    }

    [Fact]
    public void CreatesTheCaEveryHostAndTheAdminCertificate()
    {
        var c = Cluster();
        var written = ClusterCertificates.EnsureGenerated(c, null, s_now);

        Assert.Equal(1 + 3 + 2 + 1, written.Count);
        foreach (var name in new[] { "ca", "pg1", "pg2", "pg3", "pgb1", "pgb2", "admin" })
        {
            Assert.True(File.Exists(Path.Combine(_dir, "tls", name + ".crt")), name);
            Assert.True(File.Exists(Path.Combine(_dir, "tls", name + ".key")), name);
        }
    }

    [Fact]
    public void HostCertificatesNameTheHostAndItsAddressAndChainToTheCa()
    {
        var c = Cluster();
        ClusterCertificates.EnsureGenerated(c, null, s_now);
        using var ca = Read(c.Tls.CaFile);
        using var pg2 = Read(c.Tls.CertFile("pg2"));
        using var pgb1 = Read(c.Tls.CertFile("pgb1"));

        Assert.Equal(["127.0.0.2", "pg2"], ClusterCertificates.Names(pg2).Order());
        Assert.Equal(["127.0.0.1", "pgb1"], ClusterCertificates.Names(pgb1).Order());
        Assert.Equal(ca.Subject, pg2.Issuer);
        Assert.Contains("CN=pg2", pg2.Subject);
        var trust = new CaTrust(ca);
        Assert.True(trust.Verifies(pg2, CertificateFactory.ServerAuth));
        Assert.True(trust.Verifies(pg2, CertificateFactory.ClientAuth));
        var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.False(pg2.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal("ECC", pg2.PublicKey.Oid.FriendlyName);
    }

    [Fact]
    public void ValidityIsTwoYearsForHostsAndTenForTheCaAndStartsBeforeNow()
    {
        var c = Cluster();
        // Real time: the chain check in EnsureGenerated and CaTrust uses the clock.
        var now = DateTimeOffset.UtcNow;
        ClusterCertificates.EnsureGenerated(c, null, now);
        using var ca = Read(c.Tls.CaFile);
        using var pg1 = Read(c.Tls.CertFile("pg1"));

        Assert.InRange(pg1.NotBefore.ToUniversalTime(), now.UtcDateTime.AddHours(-1).AddSeconds(-2), now.UtcDateTime);
        Assert.InRange((pg1.NotAfter.ToUniversalTime() - now.UtcDateTime).TotalDays, 729.9, 730.1);
        Assert.InRange((ca.NotAfter.ToUniversalTime() - now.UtcDateTime).TotalDays, 3649.9, 3650.1);
    }

    [Fact]
    public void KeysAre0600CertificatesAreReadableAndHostKeysBelongToTheServerUser()
    {
        var c = Cluster();
        // nobody:nogroup stands in for the postgres user; chown only works as root.
        ClusterCertificates.EnsureGenerated(c, (65534, 65534), DateTimeOffset.UtcNow);

        foreach (var name in new[] { "ca", "pg1", "pgb2", "admin" })
        {
            Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(Path.Combine(_dir, "tls", name + ".key")));
            Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(Path.Combine(_dir, "tls", name + ".crt")));
        }
        if (Libc.IsRoot)
        {
            Assert.Equal("65534:65534", Owner(c.Tls.KeyFile("pg1")));
            Assert.Equal("65534:65534", Owner(c.Tls.KeyFile("pgb2")));
            Assert.Equal("0:0", Owner(c.Tls.CaKeyFile!));
            Assert.Equal("0:0", Owner(c.Tls.AdminKeyFile!));
        }
        using var withKey = PemFiles.ReadWithKey(c.Tls.CertFile("pg1"), c.Tls.KeyFile("pg1"));
        Assert.True(withKey.HasPrivateKey);
    }

    [Fact]
    public void SecondRunWritesNothingAndAMovedHostGetsANewCertificateFromTheSameCa()
    {
        var now = DateTimeOffset.UtcNow;
        ClusterCertificates.EnsureGenerated(Cluster(), null, now);
        var caBefore = File.ReadAllText(Path.Combine(_dir, "tls", "ca.crt"));
        var pg1Before = File.ReadAllText(Path.Combine(_dir, "tls", "pg1.crt"));

        Assert.Empty(ClusterCertificates.EnsureGenerated(Cluster(), null, now));

        var moved = Cluster(TestClusters.ThreeNodes.Replace("address: 127.0.0.3", "address: 127.0.0.9"));
        var written = ClusterCertificates.EnsureGenerated(moved, null, now);
        Assert.Single(written);
        Assert.StartsWith("pg3 ", written[0]);
        Assert.Equal(caBefore, File.ReadAllText(moved.Tls.CaFile));
        Assert.Equal(pg1Before, File.ReadAllText(moved.Tls.CertFile("pg1")));
        using var pg3 = Read(moved.Tls.CertFile("pg3"));
        Assert.Contains("127.0.0.9", ClusterCertificates.Names(pg3));
    }

    [Fact]
    public void ACertificateFromAnotherCaIsNotTrusted()
    {
        using var ours = CertificateFactory.CreateAuthority("ours", DateTimeOffset.UtcNow, TimeSpan.FromDays(10));
        using var theirs = CertificateFactory.CreateAuthority("theirs", DateTimeOffset.UtcNow, TimeSpan.FromDays(10));
        using var foreign = CertificateFactory.IssueHost(theirs, "pg1", ["127.0.0.1"], DateTimeOffset.UtcNow, TimeSpan.FromDays(5));
        using var own = CertificateFactory.IssueHost(ours, "pg1", ["127.0.0.1"], DateTimeOffset.UtcNow, TimeSpan.FromDays(5));
        using var client = CertificateFactory.IssueClient(ours, "admin", DateTimeOffset.UtcNow, TimeSpan.FromDays(5));

        var trust = new CaTrust(ours);
        Assert.False(trust.Verifies(foreign, CertificateFactory.ServerAuth));
        Assert.True(trust.Verifies(own, CertificateFactory.ServerAuth));
        Assert.True(trust.Verifies(client, CertificateFactory.ClientAuth));
        Assert.False(trust.Verifies(client, CertificateFactory.ServerAuth));
    }

    [Fact]
    public void AnExpiredCertificateIsNotTrustedAndIsRenewed()
    {
        var c = Cluster();
        // Issued 729 days ago: valid one more day, which is inside the 30-day renewal window.
        ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow.AddDays(-729));
        var written = ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow);

        Assert.Equal(6, written.Count);  // 5 hosts + admin; the CA (10 years) stays
        Assert.DoesNotContain(written, w => w.StartsWith("CA ", StringComparison.Ordinal));
    }

    [Fact]
    public void NothingIsGeneratedForOwnCertificatesOrWithTlsDisabled()
    {
        Assert.Empty(ClusterCertificates.EnsureGenerated(Cluster(TestClusters.ThreeNodes + "\ntls: disabled\n"), null, s_now));
        Assert.Empty(ClusterCertificates.EnsureGenerated(Cluster(TestClusters.ThreeNodes + "\ntls: { ca_file: a, cert_file: b, key_file: c }\n"), null, s_now));
        Assert.False(Directory.Exists(Path.Combine(_dir, "tls")));
    }

    [Fact]
    public void AServerWithoutItsFilesRefusesToStartNamingTheFileAndTheFix()
    {
        var e = Assert.Throws<Errors.ConfigException>(() => ClusterCertificates.RequireHostFiles(Cluster(), "pg2"));

        Assert.Contains($"TLS is on, but the CA certificate {_dir}/tls/ca.crt cannot be read", e.Message);
        Assert.Contains("`pgwarden up` generates it", e.Message);
        ClusterCertificates.RequireHostFiles(Cluster(TestClusters.ThreeNodes + "\ntls: disabled\n"), "pg2");
    }

    [Fact]
    public void AllowlistAdmitsListedNetworksAndTheNodesOnly()
    {
        Assert.Null(ApiAllowlist.For(Cluster()));
        var list = ApiAllowlist.For(Cluster(TestClusters.ThreeNodes + "\napi: { allowlist: [10.1.0.0/16] }\n"))!;

        Assert.True(list.Allows(System.Net.IPAddress.Parse("10.1.200.3")));
        Assert.True(list.Allows(System.Net.IPAddress.Parse("::ffff:10.1.0.1")));
        Assert.True(list.Allows(System.Net.IPAddress.Parse("127.0.0.2")));   // a node
        Assert.True(list.Allows(System.Net.IPAddress.Parse("127.0.0.1")));   // loopback nodes connect from it
        Assert.False(list.Allows(System.Net.IPAddress.Parse("10.2.0.1")));
        Assert.False(list.Allows(System.Net.IPAddress.Parse("127.0.0.50")));
        Assert.False(list.Allows(null));
    }
}
