using PgWarden.Core.Ha;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Physical;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// `pgwarden restore --cluster`: rebuilds a stopped cluster from a physical backup. The backup is
/// recovered (to the target, then promoted) into the new primary's data directory; its agent then
/// clears the old leadership from the DCS and takes the lease, and the other nodes, whose data
/// directories must be empty, clone it as usual. Nothing existing is overwritten: running processes
/// and non-empty data directories are refused.
/// The promotion starts a new timeline. Its number is never one the archive already has files of
/// (timelines with archived WAL but no history file are reserved while recovering), its history is true
/// (recovery follows the timeline the target lies on, see <see cref="RecoveryPlan"/>, and the written file
/// is checked), and it is archived before this command returns — before the cluster can accept a write —
/// so a later recovery to "the end of the archive" and the choice of backups follow the rebuilt cluster,
/// not the history it left.
/// </summary>
public static class ClusterRestore
{
    /// <param name="timeout">How long recovery may take.</param>
    /// <param name="confirmation">Asked once the refusals (a running cluster, data in the way) are passed.</param>
    public static async Task RunAsync(BackupEnvironment env, BackupManifest backup, RecoveryTarget target, string? nodeName,
        IReadOnlyDictionary<string, string> tablespaceMapping, bool force, TimeSpan timeout, Confirmation confirmation, CancellationToken ct)
    {
        var cluster = env.Cluster;
        if (target.Action == "pause")
        {
            throw new PgWardenException(ExitCodes.Usage, "restore --cluster promotes the restored primary at the target; --target-action pause is for restore --to DIR");
        }
        var node = nodeName is null ? cluster.BootstrapNode : cluster.Nodes.FirstOrDefault(n => n.Name == nodeName)
            ?? throw new PgWardenException(ExitCodes.NotFound, $"--node {nodeName} is not a node of cluster {cluster.Name} ({string.Join(", ", cluster.Nodes.Select(n => n.Name))})");
        var running = Daemons.All(cluster, cluster.ConfigFile).Where(d => d.IsRunning).ToList();
        if (running.Count > 0)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"cluster {cluster.Name} is running ({string.Join(", ", running.Select(d => $"{d.Kind} {d.Name} PID {d.Pid}"))}): stop it first with `pgwarden down`");
        }
        foreach (var n in cluster.Nodes.Where(n => Directory.Exists(n.DataDir) && Directory.EnumerateFileSystemEntries(n.DataDir).Any()))
        {
            if (n.Name == node.Name && force && File.Exists(Path.Combine(n.DataDir, RestoreTargetDirectory.MarkerName)))
            {
                continue;
            }
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"node {n.Name}'s data directory {n.DataDir} is not empty; PgWarden never overwrites a data directory: move it aside (mv {n.DataDir} {n.DataDir}.old) on every host, then run restore --cluster again");
        }

        confirmation.Ask($"Rebuild cluster {cluster.Name} from backup {backup.Id} ({node.Name} becomes the primary, the other nodes clone it on `pgwarden up`)?");
        var layout = new RepositoryLayout(cluster.Name, backup.SystemId);
        var timelines = await ArchivedTimelines.ReadAsync(env.Repository, layout, ct);
        Console.WriteLine($"rebuilding cluster {cluster.Name} from backup {backup.Id}: {node.Name} becomes the primary, the other nodes clone it");
        var restorer = new Restorer(cluster, env.Repository, env.Binaries, env.Launcher, env.Tools, env.PgWardenBinary, Console.WriteLine);
        var options = new RestoreOptions(tablespaceMapping, force, InPlaceTablespaces: false);
        // The timeline limit and rewind bound a stopped agent left behind are for its old life: the restore
        // follows the archive's history, and the restored data directories hold what the backup holds.
        foreach (var n in cluster.Nodes)
        {
            File.Delete(TimelineLimit.PathFor(cluster, n));
            File.Delete(RewindBound.PathFor(cluster, n));
        }
        await restorer.RestoreAsync(backup, target, node.DataDir, port: null, keepRunning: false, timeout, options, ct);
        Restorer.RemoveRecoverySettings(node.DataDir);
        try
        {
            await ArchiveNewTimelineAsync(env, layout, node.DataDir, timelines, ct);
        }
        catch (Exception)
        {
            RemoveRestored(node.DataDir);
            throw;
        }

        var home = node.HomeDir(cluster);
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, RestoredMarker.FileName), $"backup {backup.Id}, {target.Describe()}, restored {DateTimeOffset.UtcNow:u}\n");
        Console.WriteLine($"{node.Name}'s data directory holds the restored primary. Start the cluster with `pgwarden up` (or start the agents):");
        Console.WriteLine($"  {node.Name}'s agent forgets the old leader in the DCS and leads; the other nodes clone it.");
    }

    /// <summary>
    /// Archives the history file the promotion wrote (the restored copy ran with archiving off) and checks
    /// that its timeline number was new to the archive; refuses otherwise, since two histories would share it.
    /// </summary>
    private static async Task ArchiveNewTimelineAsync(BackupEnvironment env, RepositoryLayout layout, string dataDir, ArchivedTimelines before, CancellationToken ct)
    {
        var history = Directory.GetFiles(Path.Combine(dataDir, "pg_wal"), "*.history")
            .Select(f => (Path: f, Name: WalFileName.TryParse(Path.GetFileName(f))))
            .Where(h => h.Name is not null)
            .MaxBy(h => h.Name!.Timeline);
        if (history.Name is null)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"the restored primary in {dataDir} has no timeline history file after its promotion");
        }
        var tli = history.Name.Timeline;
        if (tli <= before.HighestTimeline)
        {
            throw new PgWardenException(ExitCodes.OperationFailed,
                $"the restored primary was promoted to timeline {tli}, which the archive in {env.Repository.Description} already has files of; refusing to let two histories share it");
        }
        await new WalArchiver(env.Repository, layout).PushAsync(history.Path, ct);
        Console.WriteLine($"  archived {history.Name.Name}: the rebuilt cluster runs on timeline {tli}");
    }

    private static void RemoveRestored(string dataDir)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dataDir))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
        Console.Error.WriteLine($"pgwarden: removed the restored data directory {dataDir}: its new timeline could not be archived");
    }
}
