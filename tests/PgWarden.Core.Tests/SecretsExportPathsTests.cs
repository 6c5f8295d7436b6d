using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Tests;

/// <summary>
/// `secrets export` puts every file where the exported cluster.yaml looks for it once the directory is
/// copied next to it (the backup key at its configured relative path, not only under its file name), and
/// an etcd member's export carries cluster.yaml and the certificate `install --role etcd` serves.
/// </summary>
public sealed class SecretsExportPathsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-export-paths-").FullName;
    private readonly ClusterSecrets _full = ClusterSecrets.Generate();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string OwnEtcd = "\ndcs:\n  embedded: false\n  endpoints: [https://127.0.0.1:2379, https://127.0.0.9:2379]\n";

    private ClusterConfig Cluster(string extra)
    {
        var config = Path.Combine(_dir, "cluster", "cluster.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        File.WriteAllText(config, TestClusters.ThreeNodes + extra);
        var cluster = ConfigLoader.LoadFile(config);
        _full.Save(cluster.SecretsFile);
        ClusterCertificates.EnsureGenerated(cluster, null, DateTimeOffset.UtcNow);
        return cluster;
    }

    private string Out => Path.Combine(_dir, "out");

    [Fact]
    public void ABackupKeyInASubdirectoryIsExportedWhereTheExportedConfigurationLooks()
    {
        var c = Cluster("\nbackup:\n  repository: { type: fs, path: /tmp/pgwarden-export-repo }\n  encryption: { key_file: keys/backup.key }\n");
        Directory.CreateDirectory(Path.Combine(c.BaseDir, "keys"));
        File.WriteAllText(c.Backup!.Encryption.KeyFile!, "KEY\n");

        var written = SecretsExport.Write(c, _full, SecretsRole.Node, "pg1", Out);

        var exported = ConfigLoader.LoadFile(Path.Combine(Out, "cluster.yaml"));
        Assert.Equal(Path.Combine(Out, "keys", "backup.key"), exported.Backup!.Encryption.KeyFile);
        Assert.Equal("KEY\n", File.ReadAllText(exported.Backup.Encryption.KeyFile!));
        Assert.Contains(written, f => f.Path == exported.Backup.Encryption.KeyFile && f.PlaceAt is null);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(exported.Backup.Encryption.KeyFile!));
    }

    [Fact]
    public void ABackupKeyOutsideTheConfigurationDirectorySaysWhereItGoes()
    {
        var key = Path.Combine(_dir, "elsewhere", "backup.key");
        Directory.CreateDirectory(Path.GetDirectoryName(key)!);
        File.WriteAllText(key, "KEY\n");
        var c = Cluster($"\nbackup:\n  repository: {{ type: fs, path: /tmp/pgwarden-export-repo }}\n  encryption: {{ key_file: {key} }}\n");

        var written = SecretsExport.Write(c, _full, SecretsRole.Node, "pg1", Out);

        Assert.Contains(written, f => f.Path == Path.Combine(Out, "backup.key") && f.PlaceAt == key);
    }

    [Fact]
    public void AnEtcdMemberExportHoldsTheConfigurationAndTheCertificateItServes()
    {
        var c = Cluster(OwnEtcd);

        var written = SecretsExport.Write(c, _full, SecretsRole.Etcd, "etcd2", Out);

        Assert.Equal(
            new[] { "cluster.yaml", "secrets.yaml", "tls/ca.crt", "tls/etcd2.crt", "tls/etcd2.key" },
            written.Select(f => Path.GetRelativePath(Out, f.Path)).Order());
        // What `install --role etcd --name etcd2` reads on that host, from the exported configuration.
        var exported = ConfigLoader.LoadFile(Path.Combine(Out, "cluster.yaml"));
        Assert.Null(EtcdMemberCertificate.Check(exported, "etcd2", requireFiles: true));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(exported.Tls.KeyFile("etcd2")));
        Assert.DoesNotContain(written, f => f.Path.EndsWith("ca.key", StringComparison.Ordinal) || f.Path.EndsWith("admin.key", StringComparison.Ordinal));
    }

    [Fact]
    public void AnEtcdExportOverHttpsNeedsAKnownMemberName()
    {
        var c = Cluster(OwnEtcd);

        var e = Assert.Throws<PgWardenException>(() => SecretsExport.Write(c, _full, SecretsRole.Etcd, null, Out));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("--role etcd needs --name, the member the files are for (from dcs.endpoints: pg1, etcd2)", e.Message);
        Assert.Equal(ExitCodes.NotFound, Assert.Throws<PgWardenException>(() => SecretsExport.Write(c, _full, SecretsRole.Etcd, "etcd7", Out)).ExitCode);
        Assert.False(Directory.Exists(Out));
    }

    [Fact]
    public void APoolerExportCarriesItsEtcdClientCertificate()
    {
        var c = Cluster(OwnEtcd + "  cert_file: 'tls/{name}-etcd.crt'\n  key_file: 'tls/{name}-etcd.key'\n");

        var written = SecretsExport.Write(c, _full, SecretsRole.Pooler, "pgb2", Out);

        Assert.Equal(
            new[] { "cluster.yaml", "secrets.yaml", "tls/ca.crt", "tls/pgb2-etcd.crt", "tls/pgb2-etcd.key", "tls/pgb2.crt", "tls/pgb2.key" },
            written.Select(f => Path.GetRelativePath(Out, f.Path)).Order());
        var exported = ConfigLoader.LoadFile(Path.Combine(Out, "cluster.yaml"));
        Assert.True(File.Exists(exported.Dcs.ClientTls("pgb2")!.KeyFile));
    }

    [Fact]
    public void AnEtcdExportOverHttpHasNoCertificateToCarry()
    {
        var c = Cluster("\ndcs:\n  embedded: false\n  endpoints: [http://127.0.0.1:2379, http://127.0.0.9:2379]\n");

        var written = SecretsExport.Write(c, _full, SecretsRole.Etcd, "etcd2", Out);

        Assert.Equal(new[] { "cluster.yaml", "secrets.yaml" }, written.Select(f => Path.GetRelativePath(Out, f.Path)).Order());
    }

    [Fact]
    public void AnEtcdClientPathThatIsAHostCertificateIsNotOverwritten()
    {
        // dcs.cert_file without {name} naming pg1's own (server and client) certificate: used as it is, never replaced by a client-only one.
        var c = Cluster(OwnEtcd + "  cert_file: tls/pg1.crt\n  key_file: tls/pg1.key\n");

        Assert.Empty(ClusterCertificates.EtcdClients(c));
        using var pg1 = PemFiles.ReadCertificate(c.Tls.CertFile("pg1"));
        Assert.Contains(CertificateFactory.ServerAuth.Value!, CertificateFactory.Usages(pg1));
    }
}
