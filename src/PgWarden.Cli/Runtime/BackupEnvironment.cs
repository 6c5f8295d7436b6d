using PgWarden.Backup.Catalog;
using PgWarden.Backup.Physical;
using PgWarden.Backup.Repository;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Cli.Runtime;

/// <summary>What the backup commands share: the cluster, its repository and catalog, and the PostgreSQL tools.</summary>
public sealed class BackupEnvironment : IDisposable
{
    public BackupEnvironment(ClusterConfig cluster)
    {
        Cluster = cluster;
        Repository = RepositoryFactory.Open(cluster);
        Catalog = new BackupCatalog(Repository, cluster.Name);
        Binaries = new PgBinaries(cluster.Postgres.BinDir, cluster.Postgres.Version);
        Launcher = new ProcessLauncher(OsUser.ServerUser(cluster.Postgres.OsUser));
        Tools = new ToolRunner(Launcher);
    }

    public ClusterConfig Cluster { get; }
    public IBackupRepository Repository { get; }
    public BackupCatalog Catalog { get; }
    public PgBinaries Binaries { get; }
    public ProcessLauncher Launcher { get; }
    public IToolRunner Tools { get; }

    private string? _pgWardenBinary;

    /// <summary>This program as the server user can run it (restore_command of restored copies).</summary>
    public string PgWardenBinary => _pgWardenBinary ??= Environment.ProcessPath is { } self
        ? ServerReachableTool.Resolve(self, Launcher.ServerUser, Cluster.BaseDir)
        : "pgwarden";

    /// <summary>The primary, or with <paramref name="fromReplica"/> a streaming replica, with SQL access to it and the primary.</summary>
    public async Task<BackupSource> SourceAsync(bool fromReplica, CancellationToken ct)
    {
        var secrets = ClusterSecrets.Load(Cluster.SecretsFile);
        var primary = await PrimaryLocator.FindAsync(Cluster, ct);
        var node = primary;
        if (fromReplica)
        {
            var client = new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(3), Cluster));
            var statuses = await client.GetAllAsync(Cluster.Nodes, ct);
            var replica = statuses.Where(kv => kv.Value is { IsStreamingReplica: true }).Select(kv => kv.Key).Order(StringComparer.Ordinal).FirstOrDefault()
                ?? throw new PgWardenException(ExitCodes.NotRunning, $"no replica of cluster {Cluster.Name} is streaming; take the backup from the primary (without --from-replica)");
            node = Cluster.Node(replica);
        }
        var passFile = Path.Combine(node.HomeDir(Cluster), "replication.pgpass");
        return new BackupSource(Cluster, node,
            PrimaryLocator.Superuser(Cluster, node, secrets, "postgres"),
            PrimaryLocator.Superuser(Cluster, primary, secrets, "postgres"),
            passFile);
    }

    /// <summary>Removes local scratch space (staging, spools, socket directories) that killed backups and restores left (see <see cref="Backup.LocalStaging"/>).</summary>
    public void SweepLocalStaging(string? scratchParent = null)
    {
        Backup.LocalStaging.SweepStale(Path.GetTempPath(), Console.WriteLine);
        if (scratchParent is not null && Path.GetFullPath(scratchParent) != Path.GetFullPath(Path.GetTempPath()))
        {
            Backup.LocalStaging.SweepStale(scratchParent, Console.WriteLine);
        }
    }

    public void Dispose() => (Repository as IDisposable)?.Dispose();
}
