using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden down [--purge --yes]`: stops every process of the local cluster cleanly.</summary>
public static class DownCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var purge = new Option<bool>("--purge") { Description = "also delete the cluster directory and all its data" };
        var yes = CommandAction.YesOption("delete the cluster directory (--purge)");
        var cmd = new Command("down", "stop the cluster's agents, PostgreSQL servers and PgBouncers (clean shutdown)") { config, dir, purge, yes };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var configPath = ClusterLocator.ConfigPath(p.GetValue(config), p.GetValue(dir));
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            if (p.GetValue(purge))
            {
                Confirmation.For($"down --purge (it deletes {cluster.BaseDir} and every database in it)", p.GetValue(yes))
                    .AskToType($"Delete {cluster.BaseDir} with all data of cluster {cluster.Name}? Type the cluster name to confirm:", cluster.Name);
            }
            var daemons = Daemons.All(cluster, configPath);
            var running = daemons.Count(d => d.IsRunning);
            // Poolers first, so clients stop arriving; then the replicas' agents, so that none takes
            // over when the primary's agent releases its lease; then the primary's; the DCS last.
            var statuses = await new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(2), cluster)).GetAllAsync(cluster.Nodes, ct);
            bool IsPrimary(Daemons.Daemon d) => statuses.GetValueOrDefault(d.Name) is { Role: Core.Ha.NodeRole.Primary };
            var stages = new[]
            {
                daemons.Where(d => d.Kind == "pooler"),
                daemons.Where(d => d.Kind == "agent" && !IsPrimary(d)),
                daemons.Where(d => d.Kind == "agent" && IsPrimary(d)),
                daemons.Where(d => d.Kind == "etcd"),
            };
            var left = new List<Daemons.Daemon>();
            foreach (var stage in stages)
            {
                left.AddRange(await Daemons.StopAsync(stage, TimeSpan.FromSeconds(120), Console.WriteLine));
            }
            if (left.Count > 0)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"still running after 120 s: {string.Join(", ", left.Select(d => $"{d.Kind} {d.Name} (PID {d.Pid})"))}; see {cluster.BaseDir}/logs");
            }
            Console.WriteLine(running == 0 ? $"cluster {cluster.Name} was not running" : $"cluster {cluster.Name} stopped ({running} processes)");
            if (p.GetValue(purge))
            {
                if (!File.Exists(Path.Combine(cluster.BaseDir, ClusterLocator.ConfigFileName)))
                {
                    throw new PgWardenException(ExitCodes.UnsafeRefused, $"{cluster.BaseDir} has no {ClusterLocator.ConfigFileName}; not deleting it");
                }
                // Backups and archived WAL are never purged with the cluster: a filesystem repository
                // inside the cluster directory is kept (delete it yourself if you mean to).
                var repository = cluster.Backup is { Repository: Core.Config.RepositoryKind.Fs, Path: { } repo } ? Path.GetFullPath(repo) : null;
                var keep = new HashSet<string>(StringComparer.Ordinal);
                if (repository is not null && repository.StartsWith(cluster.BaseDir + "/", StringComparison.Ordinal))
                {
                    keep.Add(Path.Combine(cluster.BaseDir, repository[(cluster.BaseDir.Length + 1)..].Split('/')[0]));
                }
                // Nor is the backup encryption key: without it the kept backups (here, or in S3) cannot be read.
                var keyFile = cluster.Backup?.Encryption is { Enabled: true, KeyFile: { } k } ? Path.GetFullPath(k) : null;
                if (keyFile is not null && keyFile.StartsWith(cluster.BaseDir + "/", StringComparison.Ordinal))
                {
                    var top = Path.Combine(cluster.BaseDir, keyFile[(cluster.BaseDir.Length + 1)..].Split('/')[0]);
                    keep.UnionWith(top == keyFile ? [keyFile, keyFile + ".new", keyFile + ".old"] : [top]);
                }
                if (keep.Count == 0)
                {
                    Directory.Delete(cluster.BaseDir, recursive: true);
                    Console.WriteLine($"deleted {cluster.BaseDir}");
                }
                else
                {
                    foreach (var entry in Directory.EnumerateFileSystemEntries(cluster.BaseDir).Where(e => !keep.Contains(e)).ToList())
                    {
                        if (Directory.Exists(entry) && !File.GetAttributes(entry).HasFlag(FileAttributes.ReparsePoint))
                        {
                            Directory.Delete(entry, recursive: true);
                        }
                        else
                        {
                            File.Delete(entry);
                        }
                    }
                    Console.WriteLine($"deleted the cluster in {cluster.BaseDir}; kept "
                        + string.Join(" and ", new[]
                        {
                            repository is not null && keep.Any(e => repository.StartsWith(e, StringComparison.Ordinal)) ? $"the backup repository {repository} (backups and archived WAL are never purged)" : null,
                            keyFile is not null ? $"the backup encryption key {keyFile} (the backups cannot be read without it)" : null,
                        }.OfType<string>()));
                }
                foreach (var outside in cluster.Nodes.Where(n => !n.DataDir.StartsWith(cluster.BaseDir + "/", StringComparison.Ordinal)))
                {
                    Console.WriteLine($"kept data directory {outside.DataDir} of node {outside.Name} (outside the cluster directory; delete it yourself if you mean to)");
                }
            }
            return 0;
        });
        return cmd;
    }
}
