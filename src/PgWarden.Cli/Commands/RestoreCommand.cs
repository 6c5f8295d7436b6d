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
        var time = new Option<string?>("--target-time") { Description = "recover up to this time (e.g. '2025-10-30 14:30:00+00'; no zone = UTC)" };
        var lsn = new Option<string?>("--target-lsn") { Description = "recover up to this WAL position" };
        var name = new Option<string?>("--target-name") { Description = "recover up to this restore point (pgwarden restore-point NAME)" };
        var xid = new Option<string?>("--target-xid") { Description = "recover up to this transaction id" };
        var immediate = new Option<bool>("--immediate") { Description = "stop as soon as the backup is consistent" };
        var action = new Option<string>("--target-action") { Description = "promote or pause once the target is reached", DefaultValueFactory = _ => "promote" };
        action.AcceptOnlyFromAmong("promote", "pause");
        var keep = new Option<bool>("--keep-running") { Description = "leave the restored PostgreSQL running" };
        var port = new Option<int?>("--port") { Description = "port of the restored PostgreSQL on 127.0.0.1 (default: a free one)" };
        var timeout = new Option<int>("--timeout") { Description = "seconds to wait for recovery", DefaultValueFactory = _ => 3600 };
        var cmd = new Command("restore", "point-in-time recovery: a physical base backup + archived WAL into --to DIR (started on a free loopback port), or --cluster to rebuild the cluster")
        {
            config, dir, to, wholeCluster, node, backup, time, lsn, name, xid, immediate, action, keep, port, timeout,
        };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            DateTimeOffset? targetTime = null;
            if (p.GetValue(time) is { } t)
            {
                if (!DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
                {
                    throw new PgWardenException(ExitCodes.Unreachable, $"--target-time '{t}' is not a date and time (e.g. 2025-10-30 14:30:00+00)");
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
                throw new PgWardenException(ExitCodes.Unreachable, $"--target-lsn '{l}' is not a WAL position (e.g. 0/3000060)");
            }
            var target = new RecoveryTarget(targetTime, p.GetValue(lsn), p.GetValue(name), p.GetValue(xid), p.GetValue(immediate), p.GetValue(action)!);
            if ((p.GetValue(to) is null) == !p.GetValue(wholeCluster))
            {
                throw new PgWardenException(ExitCodes.Unreachable, "give either --to DIR (restore a copy) or --cluster (rebuild the cluster), not both or neither");
            }
            if (p.GetValue(wholeCluster) && (p.GetValue(keep) || p.GetValue(port) is not null))
            {
                throw new PgWardenException(ExitCodes.Unreachable, "--keep-running and --port are for restore --to DIR; with --cluster the agents start the restored primary");
            }
            if (!p.GetValue(wholeCluster) && p.GetValue(node) is not null)
            {
                throw new PgWardenException(ExitCodes.Unreachable, "--node goes with --cluster");
            }
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            var manifest = await ChooseBackupAsync(env, p.GetValue(backup), target, ct);
            if (p.GetValue(wholeCluster))
            {
                await ClusterRestore.RunAsync(env, manifest, target, p.GetValue(node), TimeSpan.FromSeconds(p.GetValue(timeout)), ct);
                return 0;
            }
            var restorer = new Restorer(env.Cluster, env.Repository, env.Binaries, env.Launcher, env.Tools, env.PgWardenBinary, Console.WriteLine);
            await restorer.RestoreAsync(manifest, target, p.GetValue(to)!, p.GetValue(port), p.GetValue(keep), TimeSpan.FromSeconds(p.GetValue(timeout)), ct);
            return 0;
        });
        return cmd;
    }

    /// <summary>The named backup, or the newest physical backup that ended before the target (time/LSN), else the newest.</summary>
    private static async Task<Backup.Catalog.BackupManifest> ChooseBackupAsync(BackupEnvironment env, string? id, RecoveryTarget target, CancellationToken ct)
    {
        if (id is not null)
        {
            var chosen = await env.Catalog.FindAsync(id, "physical", ct);
            return chosen;
        }
        var all = (await env.Catalog.ListAsync(ct)).Where(m => m.Type == "physical").ToList();
        if (all.Count == 0)
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"there is no physical backup of cluster {env.Cluster.Name} in {env.Repository.Description}; take one with `pgwarden backup physical`");
        }
        var suitable = all.Where(m =>
            (target.Time is not { } t || m.StopTime <= t) &&
            (target.Lsn is not { } l || m.StopLsn is null || Core.Ha.Lsn.Parse(m.StopLsn) <= Core.Ha.Lsn.Parse(l))).ToList();
        // None suitable: take the oldest, so the refusal names the recoverable range.
        return suitable.Count > 0 ? suitable[^1] : all[0];
    }
}
