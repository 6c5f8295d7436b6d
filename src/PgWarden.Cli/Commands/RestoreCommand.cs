using System.CommandLine;
using System.Globalization;
using PgWarden.Backup.Physical;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden restore --to DIR …`: point-in-time recovery from a physical base backup and the archived WAL.</summary>
public static class RestoreCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var to = new Option<string?>("--to") { Description = "an empty (or new) directory to restore into" };
        var wholeCluster = new Option<bool>("--cluster") { Description = "rebuild the stopped cluster itself: restore into the primary's (empty) data directory; the other nodes clone it on `pgwarden up`" };
        var node = new Option<string?>("--node") { Description = "with --cluster: the node that becomes the primary (default: the first node)" };
        var backup = new Option<string>("--backup") { Description = "backup id, or latest (default: the newest backup that ends before the target)" };
        var time = new Option<string?>("--target-time") { Description = "recover up to this time: YYYY-MM-DD HH:MM[:SS[.ffffff]][zone] (e.g. '2025-10-30 14:30:00+00' or 2025-10-30T14:30:00Z; no zone = UTC)" };
        var lsn = new Option<string?>("--target-lsn") { Description = "recover up to this WAL position" };
        var name = new Option<string?>("--target-name") { Description = "recover up to this restore point (pgwarden restore-point NAME)" };
        var xid = new Option<string?>("--target-xid") { Description = "recover up to this transaction id" };
        var immediate = new Option<bool>("--immediate") { Description = "stop as soon as the backup is consistent" };
        var action = new Option<string>("--target-action") { Description = "promote or pause once the target is reached", DefaultValueFactory = _ => "promote" };
        action.AcceptOnlyFromAmong("promote", "pause");
        var keep = new Option<bool>("--keep-running") { Description = "leave the restored PostgreSQL running" };
        var port = new Option<int?>("--port") { Description = "port of the restored PostgreSQL on 127.0.0.1 (default: a free one)" };
        var timeout = new Option<int>("--timeout") { Description = "seconds to wait for recovery (1 or more)", DefaultValueFactory = _ => 3600 };
        var tablespaceMap = new Option<string[]>("--tablespace-mapping", "-T")
        {
            Description = "OLDDIR=NEWDIR: restore the tablespace that was at OLDDIR into NEWDIR (empty or new); repeatable. Default: --to puts tablespaces inside the copy (pg_tblspc/OID), --cluster at their original places",
            AllowMultipleArgumentsPerToken = false,
        };
        var force = new Option<bool>("--force") { Description = "clear what an interrupted restore left in the target directory (it carries pgwarden's incomplete-restore marker) and restore again" };
        var yes = CommandAction.YesOption("with --cluster: rebuild the cluster");
        var json = CommandAction.JsonOption();
        var cmd = new Command("restore", "point-in-time recovery: a physical base backup + archived WAL into --to DIR (started on a free loopback port), or --cluster to rebuild the cluster")
        {
            config, dir, to, wholeCluster, node, backup, time, lsn, name, xid, immediate, action, keep, port, timeout, tablespaceMap, force, yes, json,
        };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            DateTimeOffset? targetTime = null;
            if (p.GetValue(time) is { } t)
            {
                if (TargetTime.TryParse(t) is not { } parsed)
                {
                    throw new PgWardenException(ExitCodes.Usage,
                        $"--target-time '{t}' is not a date and time in an unambiguous form: give YYYY-MM-DD HH:MM[:SS[.ffffff]] with an optional zone (Z, +HH, +HH:MM; none = UTC), e.g. 2025-10-30 14:30:00+00 or 2025-10-30T14:30:00Z");
                }
                targetTime = parsed;
                if (parsed > DateTimeOffset.UtcNow)
                {
                    throw new PgWardenException(ExitCodes.UnsafeRefused,
                        $"--target-time {parsed:yyyy-MM-dd HH:mm:ss}Z is in the future; the archive can recover at most up to its newest WAL (now: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z; omit the target to recover to the end of the archive)");
                }
            }
            if (p.GetValue(lsn) is { } l && !System.Text.RegularExpressions.Regex.IsMatch(l, "^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$"))
            {
                throw new PgWardenException(ExitCodes.Usage, $"--target-lsn '{l}' is not a WAL position (e.g. 0/3000060)");
            }
            if (p.GetValue(name) is { } n)
            {
                RestorePointCommand.CheckName("--target-name", n);
            }
            if (p.GetValue(xid) is { } x && !(ulong.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var xidValue) && xidValue >= 3))
            {
                throw new PgWardenException(ExitCodes.Usage, $"--target-xid '{x}' is not a transaction id (a number of 3 or more, e.g. from SELECT txid_current())");
            }
            var target = new RecoveryTarget(targetTime, p.GetValue(lsn), p.GetValue(name), p.GetValue(xid), p.GetValue(immediate), p.GetValue(action)!);
            if (target.Count > 1)
            {
                throw new PgWardenException(ExitCodes.Usage, "give at most one of --target-time, --target-lsn, --target-name, --target-xid, --immediate");
            }
            if (target.Count == 0 && target.Action == "pause")
            {
                throw new PgWardenException(ExitCodes.Usage, "--target-action pause needs a target (--target-time, --target-lsn, --target-name, --target-xid or --immediate): without one, recovery replays all archived WAL and promotes");
            }
            var recoveryTimeout = TimeSpan.FromSeconds(ArgumentRules.AtLeast("--timeout", p.GetValue(timeout), 1));
            var mapping = TablespaceMappingOption.Parse(p.GetValue(tablespaceMap) ?? []);
            if ((p.GetValue(to) is null) == !p.GetValue(wholeCluster))
            {
                throw new PgWardenException(ExitCodes.Usage, "give either --to DIR (restore a copy) or --cluster (rebuild the cluster), not both or neither");
            }
            if (p.GetValue(wholeCluster) && (p.GetValue(keep) || p.GetValue(port) is not null))
            {
                throw new PgWardenException(ExitCodes.Usage, "--keep-running and --port are for restore --to DIR; with --cluster the agents start the restored primary");
            }
            if (!p.GetValue(wholeCluster) && p.GetValue(node) is not null)
            {
                throw new PgWardenException(ExitCodes.Usage, "--node goes with --cluster");
            }
            var restorePort = p.GetValue(port) is { } requested ? ArgumentRules.FreePort("--port", requested, "127.0.0.1") : (int?)null;
            if (p.GetValue(to) is { } toDir)
            {
                if (string.IsNullOrWhiteSpace(toDir) || toDir.Contains('\0', StringComparison.Ordinal))
                {
                    throw new PgWardenException(ExitCodes.Usage, $"--to '{toDir}' does not name a directory: give an empty or new directory to restore into");
                }
                if (File.Exists(Path.GetFullPath(toDir)))
                {
                    throw new PgWardenException(ExitCodes.UnsafeRefused, $"--to {Path.GetFullPath(toDir)} is a file, not a directory");
                }
            }
            if (!p.GetValue(wholeCluster) && p.GetValue(yes))
            {
                throw new PgWardenException(ExitCodes.Usage, "--yes goes with --cluster (restore --to DIR changes nothing of the cluster and asks nothing)");
            }
            var loaded = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            if (p.GetValue(node) is { } nodeName)
            {
                loaded.Node(nodeName);
            }
            var confirmation = p.GetValue(wholeCluster) ? Confirmation.For("restore --cluster (it rebuilds the cluster from a backup)", p.GetValue(yes)) : null;
            using var env = new BackupEnvironment(loaded);
            env.SweepLocalStaging();
            var (manifest, chosenTarget) = await ChooseBackupAsync(env, p.GetValue(backup), target, ct);
            target = chosenTarget;
            if (p.GetValue(wholeCluster))
            {
                // Not behind a live status line: it asks for confirmation on a terminal midway.
                await ClusterRestore.RunAsync(env, manifest, target, p.GetValue(node), mapping, p.GetValue(force), recoveryTimeout, confirmation!, ct);
                return JsonOutput.Result(0, new { mode = "cluster", backup = manifest.Id, target = target.Describe(), node = p.GetValue(node) ?? env.Cluster.BootstrapNode.Name });
            }
            var result = await PhaseProgress.RunAsync($"restoring backup {manifest.Id} into {Path.GetFullPath(p.GetValue(to)!)}", phases =>
                new Restorer(env.Cluster, env.Repository, env.Binaries, env.Launcher, env.Tools, env.PgWardenBinary, phases.Note)
                    .RestoreAsync(manifest, target, p.GetValue(to)!, restorePort, p.GetValue(keep), recoveryTimeout, new RestoreOptions(mapping, p.GetValue(force)), ct), announcePlain: false);
            return JsonOutput.Result(0, new
            {
                mode = "copy", backup = manifest.Id, target = target.Describe(), directory = Path.GetFullPath(p.GetValue(to)!),
                recovered = result.Summary, running = result.Running, port = result.Running ? result.Port : (int?)null, socket_dir = result.Running ? result.SocketDir : null,
            });
        });
        return cmd;
    }

    /// <summary>
    /// The named backup, or the newest physical backup on the newest timeline's history that ended
    /// before the target (see <see cref="BackupChooser"/>); the target then follows that timeline.
    /// </summary>
    internal static async Task<(Backup.Catalog.BackupManifest Backup, RecoveryTarget Target)> ChooseBackupAsync(BackupEnvironment env, string? id, RecoveryTarget target, CancellationToken ct)
    {
        var physical = (await env.Catalog.ListAsync(ct)).Where(m => m.Type == "physical").ToList();
        if (physical.Count == 0)
        {
            throw new PgWardenException(ExitCodes.NotFound, $"there is no physical backup of cluster {env.Cluster.Name} in {env.Repository.Description}; take one with `pgwarden backup physical`");
        }
        var named = id == "latest" ? null : id;
        var systemId = named is null ? physical[^1].SystemId : physical.FirstOrDefault(b => b.Id == named)?.SystemId ?? physical[^1].SystemId;
        var timelines = await Backup.Wal.ArchivedTimelines.ReadAsync(env.Repository, new Backup.Repository.RepositoryLayout(env.Cluster.Name, systemId), ct);
        var choice = BackupChooser.Choose(physical.Where(b => b.SystemId == systemId).ToList(), timelines, target, named);
        return (choice.Backup, target with { Timeline = choice.Timeline });
    }
}
