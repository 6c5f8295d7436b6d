using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Os;
using PgWarden.Core.Processes;

namespace PgWarden.Backup.Repository;

/// <summary>Opens the repository a cluster's <c>backup:</c> section names.</summary>
public static class RepositoryFactory
{
    public static IBackupRepository Open(ClusterConfig cluster)
    {
        var backup = cluster.Backup ?? throw new PgWardenException(ExitCodes.ConfigError,
            $"cluster {cluster.Name} has no backup section in {cluster.ConfigFile}; add backup.repository (see examples/cluster.yaml)");
        return backup.Repository switch
        {
            RepositoryKind.Fs => new FsRepository(backup.Path!, Libc.IsRoot ? OsUser.Lookup(cluster.Postgres.OsUser) : null),
            _ => new S3Repository(backup.S3!),
        };
    }
}
