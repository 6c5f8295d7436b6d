using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;

namespace PgWarden.Core.Tests;

/// <summary>
/// `pgwarden secrets export`: each host role gets exactly its files, 0600, and no secret of another
/// role — checked by scanning every written byte for every secret value the role must not hold.
/// </summary>
public sealed class SecretsExportTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-export-").FullName;
    private readonly ClusterSecrets _full = ClusterSecrets.Generate();
    private readonly ClusterConfig _cluster;

    public SecretsExportTests()
    {
        var config = Path.Combine(_dir, "cluster", "cluster.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        File.WriteAllText(config, TestClusters.ThreeNodes + "\nbackup:\n  repository: { type: fs, path: /tmp/pgwarden-export-repo }\n");
        _cluster = ConfigLoader.LoadFile(config);
        File.WriteAllText(_cluster.Backup!.Encryption.KeyFile!, "# key\nBACKUP-KEY-MATERIAL-0123456789\n");
        _full.Save(_cluster.SecretsFile);
        // The generated TLS of `pgwarden up` (the default): a node or pooler export carries its own certificate and key.
        PgWarden.Core.Tls.ClusterCertificates.EnsureGenerated(_cluster, null, DateTimeOffset.UtcNow);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every secret value of the cluster, by what it is.</summary>
    private Dictionary<string, string> AllSecrets() => new()
    {
        ["superuser"] = _full.SuperuserPassword,
        ["replication"] = _full.ReplicationPassword,
        ["app password"] = _full.AppPassword,
        ["app verifier"] = _full.AppScramSecret(_cluster.Database.AppUser),
        ["pooler admin"] = _full.PoolerAdminPassword,
        ["master api token"] = _full.ApiToken,
        ["pg1 api token"] = _full.ApiTokenFor("pg1")!,
        ["pg2 api token"] = _full.ApiTokenFor("pg2")!,
        ["pg3 api token"] = _full.ApiTokenFor("pg3")!,
        ["etcd root"] = _full.EtcdRootPassword!,
        ["etcd agent"] = _full.EtcdAgentPassword!,
        ["etcd pooler"] = _full.EtcdPoolerPassword!,
        ["backup key"] = "BACKUP-KEY-MATERIAL-0123456789",
    };

    public static TheoryData<SecretsRole, string?, string[], string[]> Roles => new()
    {
        { SecretsRole.Node, "pg1", ["superuser", "replication", "app password", "pg1 api token", "etcd agent", "backup key"], ["cluster.yaml", "secrets.yaml", "backup.key", "tls/ca.crt", "tls/pg1.crt", "tls/pg1.key"] },
        { SecretsRole.Pooler, "pgb1", ["app verifier", "pooler admin", "etcd pooler"], ["cluster.yaml", "secrets.yaml", "tls/ca.crt", "tls/pgb1.crt", "tls/pgb1.key"] },
        { SecretsRole.Etcd, null, ["etcd root", "etcd agent", "etcd pooler"], ["cluster.yaml", "secrets.yaml"] },
        { SecretsRole.Etcd, "demo", ["etcd root", "etcd agent", "etcd pooler"], ["cluster.yaml", "secrets.yaml", "tls/ca.crt", "tls/pg1.crt", "tls/pg1.key"] },
    };

    [Theory]
    [MemberData(nameof(Roles))]
    public void Each_role_gets_its_files_and_no_other_secret(SecretsRole role, string? name, string[] allowed, string[] files)
    {
        var output = Path.Combine(_dir, "out");

        var written = SecretsExport.Write(_cluster, _full, role, name, output);

        Assert.Equal(files.Order(), written.Select(f => Path.GetRelativePath(output, f.Path)).Order());
        Assert.All(written, f => Assert.Null(f.PlaceAt));
        Assert.Equal(files.Order(), Directory.GetFiles(output, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(output, f)).Order());
        var content = string.Join("\n", written.Select(f => File.ReadAllText(f.Path)));
        foreach (var (what, value) in AllSecrets())
        {
            if (allowed.Contains(what))
            {
                Assert.True(content.Contains(value, StringComparison.Ordinal), $"{role} export lacks the {what}");
            }
            else
            {
                Assert.False(content.Contains(value, StringComparison.Ordinal), $"{role} export contains the {what}");
            }
        }
        // Certificates are public (0644, as `pgwarden up` writes them); everything else is 0600.
        Assert.All(written, f => Assert.Equal(f.Path.EndsWith(".crt", StringComparison.Ordinal) ? OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead : OwnerOnly, File.GetUnixFileMode(f.Path)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(output));
    }

    [Fact]
    public void A_pooler_file_serves_the_pooler_and_refuses_the_superuser_password_by_name()
    {
        var output = Path.Combine(_dir, "pgb1");
        SecretsExport.Write(_cluster, _full, SecretsRole.Pooler, "pgb1", output);

        var pooler = ClusterSecrets.Load(Path.Combine(output, "secrets.yaml"));

        Assert.Equal(SecretsRole.Pooler, pooler.Role);
        Assert.Equal("pgb1", pooler.Name);
        Assert.Equal(_full.PoolerAdminPassword, pooler.PoolerAdminPassword);
        Assert.Equal(_full.AppScramSecret("bookreader_app"), pooler.AppScramSecret("bookreader_app"));
        Assert.Equal(new Core.Dcs.DcsCredentials("pgwarden-demo-pooler", _full.EtcdPoolerPassword!), pooler.EtcdClientCredentials("demo", readOnly: true));
        var e = Assert.Throws<PgWardenException>(() => pooler.SuperuserPassword);
        Assert.Equal(ExitCodes.ConfigError, e.ExitCode);
        Assert.Contains("is the pooler host's (pgb1) and has no 'superuser_password'", e.Message);
        Assert.Throws<PgWardenException>(() => pooler.AppPassword);
        Assert.Null(pooler.ApiTokenFor("pg1"));
    }

    [Fact]
    public void A_node_file_holds_its_own_api_token_only()
    {
        var output = Path.Combine(_dir, "pg2");
        SecretsExport.Write(_cluster, _full, SecretsRole.Node, "pg2", output);

        var node = ClusterSecrets.Load(Path.Combine(output, "secrets.yaml"));

        Assert.Equal(_full.ApiTokenFor("pg2"), node.ApiTokenFor("pg2"));
        Assert.Null(node.ApiTokenFor("pg1"));
        Assert.Equal([_full.ApiTokenFor("pg2")!], node.AcceptedApiTokens("pg2"));
        Assert.Equal(new Core.Dcs.DcsCredentials("pgwarden-demo", _full.EtcdAgentPassword!), node.EtcdClientCredentials("demo", readOnly: false));
        Assert.Throws<PgWardenException>(() => node.PoolerAdminPassword);
        // The full file's agent accepts the node's token and the master token.
        Assert.Equal([_full.ApiTokenFor("pg2")!, _full.ApiToken], _full.AcceptedApiTokens("pg2"));
        Assert.NotEqual(_full.ApiTokenFor("pg1"), _full.ApiTokenFor("pg2"));
    }

    [Fact]
    public void Export_needs_the_full_file_a_name_for_node_and_pooler_and_a_known_name()
    {
        var output = Path.Combine(_dir, "x");
        var pooler = SecretsExport.ForRole(_cluster, _full, SecretsRole.Pooler, "pgb1");

        Assert.Equal(ExitCodes.ConfigError, Assert.Throws<PgWardenException>(() => SecretsExport.Write(_cluster, pooler, SecretsRole.Pooler, "pgb1", output)).ExitCode);
        Assert.Equal(ExitCodes.Usage, Assert.Throws<PgWardenException>(() => SecretsExport.Write(_cluster, _full, SecretsRole.Node, null, output)).ExitCode);
        Assert.Equal(ExitCodes.NotFound, Assert.Throws<PgWardenException>(() => SecretsExport.Write(_cluster, _full, SecretsRole.Etcd, "pg1", output)).ExitCode);   // the embedded etcd is named after the cluster
        Assert.Equal(ExitCodes.Usage, Assert.Throws<PgWardenException>(() => SecretsExport.Write(_cluster, _full, SecretsRole.Full, "pg1", output)).ExitCode);
        Assert.Equal(ExitCodes.NotFound, Assert.Throws<PgWardenException>(() => SecretsExport.Write(_cluster, _full, SecretsRole.Node, "pg9", output)).ExitCode);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void A_secrets_file_from_before_etcd_authentication_still_loads_and_gains_etcd_passwords()
    {
        var path = Path.Combine(_dir, "old.yaml");
        File.WriteAllText(path, "superuser_password: \"s\"\nreplication_password: \"r\"\napp_password: \"a\"\npooler_admin_password: \"p\"\napi_token: \"t\"\n");
        File.SetUnixFileMode(path, OwnerOnly);

        var old = ClusterSecrets.Load(path);
        Assert.Equal(SecretsRole.Full, old.Role);
        Assert.False(old.HasEtcdPasswords);
        Assert.Null(old.EtcdClientCredentials("demo", readOnly: false));
        var e = Assert.Throws<PgWardenException>(() => SecretsExport.ForRole(_cluster, old, SecretsRole.Etcd, null));
        Assert.Contains("run `pgwarden up` once", e.Message);

        var upgraded = old.WithEtcdPasswords();
        upgraded.Save(path);
        var loaded = ClusterSecrets.Load(path);
        Assert.True(loaded.HasEtcdPasswords);
        Assert.Equal(("s", "r", "a", "p", "t"), (loaded.SuperuserPassword, loaded.ReplicationPassword, loaded.AppPassword, loaded.PoolerAdminPassword, loaded.ApiToken));
        Assert.Equal(3, new[] { loaded.EtcdRootPassword, loaded.EtcdAgentPassword, loaded.EtcdPoolerPassword }.Distinct().Count());
        Assert.Same(loaded, loaded.WithEtcdPasswords());
    }

    [Fact]
    public void A_credentials_file_named_in_the_config_wins_and_must_be_private()
    {
        var credentials = Path.Combine(_dir, "etcd-credentials.yaml");
        File.WriteAllText(credentials, "user: their-user\npassword: their-password\n");
        File.SetUnixFileMode(credentials, OwnerOnly);
        var cluster = _cluster with { Dcs = _cluster.Dcs with { CredentialsFile = credentials } };

        Assert.Equal(new Core.Dcs.DcsCredentials("their-user", "their-password"), DcsCredentialsSource.Resolve(cluster, _full, readOnly: false));
        Assert.Equal(new Core.Dcs.DcsCredentials("pgwarden-demo", _full.EtcdAgentPassword!), DcsCredentialsSource.Resolve(_cluster, _full, readOnly: false));
        Assert.Equal("pgwarden-demo-pooler", DcsCredentialsSource.Resolve(_cluster, _full, readOnly: true)!.User);
        Assert.DoesNotContain("their-password", DcsCredentialsSource.Resolve(cluster, _full, readOnly: false)!.ToString());

        File.SetUnixFileMode(credentials, OwnerOnly | UnixFileMode.OtherRead);
        Assert.Equal(ExitCodes.UnsafeRefused, Assert.Throws<PgWardenException>(() => DcsCredentialsSource.Resolve(cluster, _full, readOnly: false)).ExitCode);
        File.WriteAllText(credentials, "user: only-a-user\n");
        File.SetUnixFileMode(credentials, OwnerOnly);
        Assert.Equal(ExitCodes.ConfigError, Assert.Throws<PgWardenException>(() => DcsCredentialsSource.Resolve(cluster, _full, readOnly: false)).ExitCode);
    }

    [Fact]
    public void The_config_reads_dcs_credentials_file_relative_to_its_directory()
    {
        var cluster = ConfigLoader.Parse(TestClusters.ThreeNodes + "\ndcs:\n  embedded: false\n  endpoints: [http://10.0.0.5:2379]\n  credentials_file: etcd.yaml\n", "c.yaml", "/etc/pgwarden");

        Assert.Equal("/etc/pgwarden/etcd.yaml", cluster.Dcs.CredentialsFile);
        Assert.Null(TestClusters.Demo().Dcs.CredentialsFile);
    }
}
