using PgWarden.Backup.Repository.Encryption;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Os;
using PgWarden.Core.Processes;

namespace PgWarden.Backup.Repository;

/// <summary>Opens the repository a cluster's <c>backup:</c> section names, encrypting as its <c>encryption:</c> section says.</summary>
public static class RepositoryFactory
{
    public static IBackupRepository Open(ClusterConfig cluster)
    {
        var backup = Settings(cluster);
        var raw = OpenRaw(cluster);
        var encryption = backup.Encryption;
        if (encryption.Enabled)
        {
            var keyFile = encryption.KeyFile!;
            return new EncryptedRepository(raw, () => KeyRing.Load(keyFile));
        }
        var why = encryption.Mode == BackupEncryptionMode.None
            ? $"backup.encryption is none in {cluster.ConfigFile}"
            : $"{cluster.ConfigFile} has no backup.encryption section and the default key file {encryption.KeyFile} does not exist";
        return new PlainRepository(raw, why);
    }

    /// <summary>The repository's stored bytes as they are (ciphertext, key objects): for key rotation only.</summary>
    public static IBackupRepository OpenRaw(ClusterConfig cluster)
    {
        var backup = Settings(cluster);
        return backup.Repository switch
        {
            RepositoryKind.Fs => new FsRepository(backup.Path!, Libc.IsRoot ? OsUser.Lookup(cluster.Postgres.OsUser) : null),
            _ => new S3Repository(backup.S3!),
        };
    }

    private static BackupSettings Settings(ClusterConfig cluster) => cluster.Backup ?? throw new PgWardenException(ExitCodes.ConfigError,
        $"cluster {cluster.Name} has no backup section in {cluster.ConfigFile}; add backup.repository (see examples/cluster.yaml)");
}
