using PgWarden.Backup.Catalog;
using PgWarden.Backup.Physical;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// `pgwarden restore --cluster`: rebuilds a stopped cluster from a physical backup. The backup is
/// recovered (to the target, then promoted) into the new primary's data directory; its agent then
/// clears the old leadership from the DCS and takes the lease, and the other nodes, whose data
/// directories must be empty, clone it as usual. Nothing existing is overwritten: running processes
/// and non-empty data directories are refused.
/// </summary>
public static class ClusterRestore
{
    public static async Task RunAsync(BackupEnvironment env, BackupManifest backup, RecoveryTarget target, string? nodeName, TimeSpan timeout, CancellationToken ct)
    {
        var cluster = env.Cluster;
        if (target.Action == "pause")
        {
            throw new PgWardenException(ExitCodes.Unreachable, "restore --cluster promotes the restored primary at the target; --target-action pause is for restore --to DIR");
        }
        var node = nodeName is null ? cluster.BootstrapNode : cluster.Nodes.FirstOrDefault(n => n.Name == nodeName)
            ?? throw new PgWardenException(ExitCodes.Unreachable, $"--node {nodeName} is not a node of cluster {cluster.Name} ({string.Join(", ", cluster.Nodes.Select(n => n.Name))})");
        var running = Daemons.All(cluster, cluster.ConfigFile).Where(d => d.IsRunning).ToList();
        if (running.Count > 0)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"cluster {cluster.Name} is running ({string.Join(", ", running.Select(d => $"{d.Kind} {d.Name} PID {d.Pid}"))}): stop it first with `pgwarden down`");
        }
        foreach (var n in cluster.Nodes.Where(n => Directory.Exists(n.DataDir) && Directory.EnumerateFileSystemEntries(n.DataDir).Any()))
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"node {n.Name}'s data directory {n.DataDir} is not empty; PgWarden never overwrites a data directory: move it aside (mv {n.DataDir} {n.DataDir}.old) on every host, then run restore --cluster again");
        }

        Console.WriteLine($"rebuilding cluster {cluster.Name} from backup {backup.Id}: {node.Name} becomes the primary, the other nodes clone it");
        var restorer = new Restorer(cluster, env.Repository, env.Binaries, env.Launcher, env.Tools, env.PgWardenBinary, Console.WriteLine);
        await restorer.RestoreAsync(backup, target, node.DataDir, port: null, keepRunning: false, timeout, ct);
        Restorer.RemoveRecoverySettings(node.DataDir);

        var home = node.HomeDir(cluster);
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, RestoredMarker.FileName), $"backup {backup.Id}, {target.Describe()}, restored {DateTimeOffset.UtcNow:u}\n");
        Console.WriteLine($"{node.Name}'s data directory holds the restored primary. Start the cluster with `pgwarden up` (or start the agents):");
        Console.WriteLine($"  {node.Name}'s agent forgets the old leader in the DCS and leads; the other nodes clone it.");
    }
}
