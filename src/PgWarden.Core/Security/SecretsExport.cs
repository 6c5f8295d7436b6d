using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Security;

/// <summary>
/// The files one host needs, cut from the cluster's full secrets (docs/secrets.md):
/// <list type="bullet">
/// <item>node N: cluster.yaml, secrets.yaml (superuser, replication and app passwords, N's own API
/// token, the etcd read-write user) and the backup key when the cluster has one;</item>
/// <item>pooler P: cluster.yaml, secrets.yaml (the app user's SCRAM verifier — not its password —,
/// PgBouncer's admin password, the etcd read-only user);</item>
/// <item>etcd: secrets.yaml with etcd's root password and the passwords of the two PgWarden users,
/// to create them (the embedded `dcs-server`, or the etcdctl commands of docs/secrets.md).</item>
/// </list>
/// </summary>
public static class SecretsExport
{
    /// <summary>
    /// Builds the secrets of <paramref name="role"/> (for node or pooler <paramref name="name"/>).
    /// Throws <see cref="PgWardenException"/>: exit 3 when <paramref name="full"/> is not a full file
    /// or lacks the etcd passwords, exit 11 for an unknown node or pooler, exit 2 for a missing or
    /// superfluous name.
    /// </summary>
    public static ClusterSecrets ForRole(ClusterConfig cluster, ClusterSecrets full, SecretsRole role, string? name)
    {
        if (full.Role != SecretsRole.Full)
        {
            throw new PgWardenException(ExitCodes.ConfigError,
                $"secrets file {full.Source} is the {full.Role.ToString().ToLowerInvariant()} host's; exporting needs the cluster's full secrets.yaml (the one `pgwarden up` wrote)");
        }
        if (role is SecretsRole.Node or SecretsRole.Pooler && string.IsNullOrEmpty(name))
        {
            throw new PgWardenException(ExitCodes.Usage, $"--role {role.ToString().ToLowerInvariant()} needs --name (the {role.ToString().ToLowerInvariant()} the files are for)");
        }
        if (role is SecretsRole.Etcd or SecretsRole.Full && name is not null)
        {
            throw new PgWardenException(ExitCodes.Usage, $"--name does not go with --role {role.ToString().ToLowerInvariant()}");
        }
        string EtcdPassword(string? value, string key) => value
            ?? throw new PgWardenException(ExitCodes.ConfigError, $"secrets file {full.Source} has no '{key}' (a cluster created before etcd authentication): run `pgwarden up` once, which adds it");
        var values = new Dictionary<string, string?>();
        switch (role)
        {
            case SecretsRole.Node:
                var node = cluster.Node(name!).Name;
                values[SecretKeys.Superuser] = full.SuperuserPassword;
                values[SecretKeys.Replication] = full.ReplicationPassword;
                values[SecretKeys.App] = full.AppPassword;
                values[SecretKeys.ApiToken] = full.ApiTokenFor(node);
                values[SecretKeys.EtcdUser] = EtcdAuthNames.AgentUser(cluster.Name);
                values[SecretKeys.EtcdPassword] = EtcdPassword(full.EtcdAgentPassword, SecretKeys.EtcdAgent);
                break;
            case SecretsRole.Pooler:
                cluster.Pooler(name!);
                values[SecretKeys.AppScram] = full.AppScramSecret(cluster.Database.AppUser);
                values[SecretKeys.PoolerAdmin] = full.PoolerAdminPassword;
                values[SecretKeys.EtcdUser] = EtcdAuthNames.PoolerUser(cluster.Name);
                values[SecretKeys.EtcdPassword] = EtcdPassword(full.EtcdPoolerPassword, SecretKeys.EtcdPooler);
                break;
            case SecretsRole.Etcd:
                values[SecretKeys.EtcdRoot] = EtcdPassword(full.EtcdRootPassword, SecretKeys.EtcdRoot);
                values[SecretKeys.EtcdAgent] = EtcdPassword(full.EtcdAgentPassword, SecretKeys.EtcdAgent);
                values[SecretKeys.EtcdPooler] = EtcdPassword(full.EtcdPoolerPassword, SecretKeys.EtcdPooler);
                break;
            default:
                return full;
        }
        return new ClusterSecrets(role, name, values, null);
    }

    /// <summary>
    /// Writes the files of <paramref name="role"/> into <paramref name="outputDir"/> (created 0700 if
    /// missing), each 0600, and returns their paths. Existing files of the same names are replaced.
    /// </summary>
    /// <param name="keyOwner">Owner (uid, gid) of the exported TLS private key when running as root — the
    /// PostgreSQL OS user, who runs PostgreSQL and PgBouncer — as `pgwarden up` writes it.</param>
    public static IReadOnlyList<string> Write(ClusterConfig cluster, ClusterSecrets full, SecretsRole role, string? name, string outputDir, (uint Uid, uint Gid)? keyOwner = null)
    {
        var secrets = ForRole(cluster, full, role, name);
        if (!Directory.Exists(outputDir))
        {
            Directory.CreateDirectory(outputDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var written = new List<string>();
        var secretsPath = Path.Combine(outputDir, "secrets.yaml");
        secrets.Save(secretsPath);
        written.Add(secretsPath);
        if (role is SecretsRole.Node or SecretsRole.Pooler)
        {
            var configPath = Path.Combine(outputDir, "cluster.yaml");
            SecureFile.WriteAllText(configPath, File.ReadAllText(cluster.ConfigFile));
            written.Add(configPath);
        }
        if (role is SecretsRole.Node or SecretsRole.Pooler && cluster.Tls.Mode == TlsMode.Generated)
        {
            written.AddRange(WriteHostCertificates(cluster, name!, outputDir, keyOwner));
        }
        if (role == SecretsRole.Node && cluster.Backup?.Encryption.KeyFile is { } keyFile && File.Exists(keyFile))
        {
            var keyPath = Path.Combine(outputDir, Path.GetFileName(keyFile));
            SecureFile.WriteAllText(keyPath, File.ReadAllText(keyFile));
            written.Add(keyPath);
        }
        return written;
    }

    /// <summary>
    /// With generated TLS (`pgwarden up`'s CA): the host's own certificate and key and the CA
    /// certificate, in tls/ of <paramref name="outputDir"/> as that layout expects beside cluster.yaml —
    /// never ca.key, admin.key or another host's key. User-supplied certificates are the operator's to place.
    /// Throws <see cref="PgWardenException"/> (exit 8) when `pgwarden up` has not generated them yet.
    /// </summary>
    private static List<string> WriteHostCertificates(ClusterConfig cluster, string name, string outputDir, (uint Uid, uint Gid)? keyOwner)
    {
        var tls = TlsSettings.GeneratedUnder(outputDir);
        (string From, string To)[] files = [(cluster.Tls.CaFile, tls.CaFile), (cluster.Tls.CertFile(name), tls.CertFile(name)), (cluster.Tls.KeyFile(name), tls.KeyFile(name))];
        if (files.FirstOrDefault(f => !File.Exists(f.From)) is { From: { } missing })
        {
            throw new PgWardenException(ExitCodes.NotRunning, $"{missing} does not exist: `pgwarden up` generates the cluster's certificates; run it once before exporting");
        }
        // The layout `pgwarden up` writes: the directory and certificates world-readable, the key 0600.
        var dir = Path.GetDirectoryName(tls.CaFile)!;
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        foreach (var (from, to) in files[..2])
        {
            File.WriteAllText(to, File.ReadAllText(from));
            File.SetUnixFileMode(to, (UnixFileMode)0b110_100_100);
        }
        SecureFile.WriteAllText(files[2].To, File.ReadAllText(files[2].From));
        if (keyOwner is { } owner && Processes.Libc.IsRoot)
        {
            Processes.Libc.Chown(files[2].To, owner.Uid, owner.Gid);
        }
        return [.. files.Select(f => f.To)];
    }
}
