using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Security;

/// <summary>
/// The files one host needs, cut from the cluster's full secrets (docs/secrets.md):
/// <list type="bullet">
/// <item>node N: cluster.yaml, secrets.yaml (superuser, replication and app passwords, N's own API
/// token, the etcd read-write user) and the backup key when the cluster has one;</item>
/// <item>pooler P: cluster.yaml, secrets.yaml (the app user's SCRAM verifier — not its password —,
/// PgBouncer's admin password, the etcd read-only user);</item>
/// <item>etcd: cluster.yaml and secrets.yaml with etcd's root password and the passwords of the two
/// PgWarden users, to create them (the embedded `dcs-server`, or the etcdctl commands of
/// docs/secrets.md); with <c>--name</c> (the member, as `install --role etcd` names it) and the
/// generated TLS, the member's certificate and key, which `install --role etcd` serves.</item>
/// </list>
/// A file the configuration names is written where the exported cluster.yaml will look for it once the
/// directory is copied next to it: at the same path relative to the configuration's directory, or — for
/// a file outside that directory — under its own name, with the absolute path it must be placed at.
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
        if (role is SecretsRole.Full && name is not null)
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
    /// missing), secrets and keys 0600, and returns them. Existing files of the same names are replaced.
    /// Throws <see cref="PgWardenException"/>: as <see cref="ForRole"/>; exit 11 for an etcd member not in
    /// <c>dcs.endpoints</c>; exit 2 for <c>--role etcd</c> without <c>--name</c> when the member's
    /// generated certificate must go with it; exit 8 when `pgwarden up` has not generated the certificates yet.
    /// </summary>
    /// <param name="keyOwner">Owner (uid, gid) of the exported TLS private key when running as root — the
    /// PostgreSQL OS user, who runs PostgreSQL and PgBouncer — as `pgwarden up` writes it. An etcd member's
    /// key on a host of its own stays root's (systemd hands it to the etcd user, LoadCredential=).</param>
    public static IReadOnlyList<ExportedFile> Write(ClusterConfig cluster, ClusterSecrets full, SecretsRole role, string? name, string outputDir, (uint Uid, uint Gid)? keyOwner = null)
    {
        var secrets = ForRole(cluster, full, role, name);
        var member = role == SecretsRole.Etcd ? EtcdMemberToExport(cluster, name) : null;
        if (!Directory.Exists(outputDir))
        {
            Directory.CreateDirectory(outputDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var written = new List<ExportedFile>();
        var secretsPath = Path.Combine(outputDir, "secrets.yaml");
        secrets.Save(secretsPath);
        written.Add(new(secretsPath, null));
        var configPath = Path.Combine(outputDir, "cluster.yaml");
        SecureFile.WriteAllText(configPath, File.ReadAllText(cluster.ConfigFile));
        written.Add(new(configPath, null));
        if (cluster.Tls.Mode == TlsMode.Generated)
        {
            if (role is SecretsRole.Node or SecretsRole.Pooler)
            {
                written.AddRange(WriteHostCertificates(cluster, name!, outputDir, keyOwner));
                if (ClusterCertificates.EtcdClients(cluster).FirstOrDefault(c => c.Name == name) is { CertFile: not null } client)
                {
                    written.AddRange(WriteCertificateAndKey(cluster, outputDir, client.CertFile, client.KeyFile, keyOwner));
                }
            }
            else if (member is not null && cluster.Dcs.Tls is not null)
            {
                written.AddRange(WriteHostCertificates(cluster, member, outputDir, cluster.Nodes.Any(n => n.Name == member) ? keyOwner : null));
            }
        }
        if (role == SecretsRole.Node && cluster.Backup?.Encryption.KeyFile is { } keyFile && File.Exists(keyFile))
        {
            var (to, placeAt) = Destination(cluster, outputDir, keyFile);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            SecureFile.WriteAllText(to, File.ReadAllText(keyFile));
            written.Add(new(to, placeAt));
        }
        return written;
    }

    /// <summary>
    /// The etcd member whose certificate goes with an etcd export: <paramref name="name"/> (exit 11 when it is
    /// not a member of dcs.endpoints); none without a name — refused (exit 2) when there is a generated member
    /// certificate to hand out (your own etcd over https).
    /// </summary>
    private static string? EtcdMemberToExport(ClusterConfig cluster, string? name)
    {
        if (cluster.Dcs.Embedded)
        {
            // `install --role etcd` names the embedded etcd after the cluster; it serves the first node's certificate.
            return name is null ? null
                : name == cluster.Name ? cluster.Nodes[0].Name
                : throw new PgWardenException(ExitCodes.NotFound, $"cluster '{cluster.Name}' uses the embedded single-member etcd, named after the cluster: use --name {cluster.Name}, or no --name");
        }
        var needsCertificate = cluster.Dcs.Tls is not null && cluster.Tls.Mode == TlsMode.Generated;
        if (name is not null)
        {
            return Install.EtcdMember.Named(cluster, name).Name;
        }
        return needsCertificate
            ? throw new PgWardenException(ExitCodes.Usage,
                $"--role etcd needs --name, the member the files are for (from dcs.endpoints: {string.Join(", ", Install.EtcdMember.All(cluster).Select(m => m.Name))}): its certificate and key go with them")
            : null;
    }

    /// <summary>
    /// Where a file the configuration names goes in the export: its path relative to the configuration's
    /// directory under <paramref name="outputDir"/> (the exported cluster.yaml finds it there once the
    /// directory is copied as a whole); a file outside that directory goes to <paramref name="outputDir"/>
    /// under its own name, and PlaceAt says where it must be put.
    /// </summary>
    private static (string To, string? PlaceAt) Destination(ClusterConfig cluster, string outputDir, string source)
    {
        var relative = Path.GetRelativePath(cluster.BaseDir, source);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative)
            ? (Path.Combine(outputDir, Path.GetFileName(source)), source)
            : (Path.Combine(outputDir, relative), null);
    }

    /// <summary>
    /// With generated TLS (`pgwarden up`'s CA): the host's own certificate and key and the CA
    /// certificate, in tls/ of <paramref name="outputDir"/> as that layout expects beside cluster.yaml —
    /// never ca.key, admin.key or another host's key. User-supplied certificates are the operator's to place.
    /// Throws <see cref="PgWardenException"/> (exit 8) when `pgwarden up` has not generated them yet.
    /// </summary>
    private static List<ExportedFile> WriteHostCertificates(ClusterConfig cluster, string name, string outputDir, (uint Uid, uint Gid)? keyOwner)
    {
        var tls = cluster.Tls;
        if (!File.Exists(tls.CaFile))
        {
            throw new PgWardenException(ExitCodes.NotRunning, $"{tls.CaFile} does not exist: `pgwarden up` generates the cluster's certificates; run it once before exporting");
        }
        // The layout `pgwarden up` writes: the directory and certificates world-readable, the key 0600.
        var (ca, _) = Destination(cluster, outputDir, tls.CaFile);
        Directory.CreateDirectory(Path.GetDirectoryName(ca)!);
        File.SetUnixFileMode(Path.GetDirectoryName(ca)!, (UnixFileMode)0b111_101_101);
        File.WriteAllText(ca, File.ReadAllText(tls.CaFile));
        File.SetUnixFileMode(ca, (UnixFileMode)0b110_100_100);
        return [new(ca, null), .. WriteCertificateAndKey(cluster, outputDir, tls.CertFile(name), tls.KeyFile(name), keyOwner)];
    }

    private static List<ExportedFile> WriteCertificateAndKey(ClusterConfig cluster, string outputDir, string certFile, string keyFile, (uint Uid, uint Gid)? keyOwner)
    {
        if (new[] { certFile, keyFile }.FirstOrDefault(f => !File.Exists(f)) is { } missing)
        {
            throw new PgWardenException(ExitCodes.NotRunning, $"{missing} does not exist: `pgwarden up` generates the cluster's certificates; run it once before exporting");
        }
        var (cert, certAt) = Destination(cluster, outputDir, certFile);
        var (key, keyAt) = Destination(cluster, outputDir, keyFile);
        Directory.CreateDirectory(Path.GetDirectoryName(cert)!);
        Directory.CreateDirectory(Path.GetDirectoryName(key)!);
        File.WriteAllText(cert, File.ReadAllText(certFile));
        File.SetUnixFileMode(cert, (UnixFileMode)0b110_100_100);
        SecureFile.WriteAllText(key, File.ReadAllText(keyFile));
        if (keyOwner is { } owner && Processes.Libc.IsRoot)
        {
            Processes.Libc.Chown(key, owner.Uid, owner.Gid);
        }
        return [new(cert, certAt), new(key, keyAt)];
    }
}
