using System.CommandLine;
using System.Diagnostics;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;
using PgWarden.Pooler;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden switchover [--to NODE] [--timeout S] [--yes]`: a planned change of primary without
/// failed client transactions — PAUSE the PgBouncers (new transactions wait, running ones finish),
/// ask the leader to hand over (it stops cleanly and releases its lease only once the target has
/// every WAL record up to its shutdown checkpoint), wait until every PgBouncer routes to the new
/// primary, RESUME. Every PgBouncer that was sent PAUSE is sent RESUME on every way out (a failed
/// PAUSE, a timeout, Ctrl-C); should this command die in between, the poolers resume by themselves.
/// Refused up front (exit 7) when the agents would not carry it out; exit 9 when it did not complete
/// by the deadline, in which case the old leader stays (the agents drop the request at its deadline).
/// </summary>
public static class SwitchoverCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var to = new Option<string?>("--to") { Description = "the replica to promote (default: the most up-to-date one)" };
        var yes = CommandAction.YesOption("switch over");
        var timeout = new Option<int>("--timeout") { Description = "seconds the switchover has to complete (1..3600)", DefaultValueFactory = _ => 30 };
        var json = CommandAction.JsonOption();
        var at = new Option<string?>("--at") { Description = "schedule it: ISO 8601 time (2026-12-01T02:30:00Z) or delay (+10m); the leader's agent carries it out then" };
        var cancel = new Option<bool>("--cancel") { Description = "remove a scheduled switchover" };
        var cmd = new Command("switchover", "planned switchover to another node; clients through PgBouncer only see a short pause") { config, dir, to, yes, timeout, at, cancel, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var seconds = p.GetValue(timeout);
            if (seconds is < 1 or > 3600)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--timeout must be 1..3600 seconds, not {seconds}");
            }
            if (p.GetValue(cancel) && (p.GetValue(at) is not null || p.GetValue(to) is not null))
            {
                throw new PgWardenException(ExitCodes.Usage, "--cancel takes no --at or --to");
            }
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            if (p.GetValue(to) is { } named)
            {
                cluster.Node(named);
            }
            if (p.GetValue(cancel))
            {
                return await ScheduledSwitchover.CancelAsync(new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile)), ct);
            }
            var confirmation = Confirmation.For("switchover", p.GetValue(yes));
            if (p.GetValue(at) is { } when)
            {
                return await ScheduledSwitchover.ScheduleAsync(cluster, () => new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile)), when, p.GetValue(to), seconds, confirmation, ct);
            }
            var secrets = ClusterSecrets.Load(cluster.SecretsFile);
            if (cluster.Poolers.Length > 0)
            {
                _ = secrets.PoolerAdminPassword; // before anything is sent: a node host's secrets have none (docs/secrets.md)
            }
            var api = new AgentApiClient(cluster, secrets);
            var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct, fresh: true));
            var leader = view.Leader?.Name;
            if (leader is not null && await MeasuredLagAsync(api, cluster.Node(leader), ct) is { } measured)
            {
                view = SwitchoverRules.WithMeasuredLag(view, measured);
            }
            var nodes = cluster.Nodes.Select(n => n.Name).ToList();
            var refusal = SwitchoverRules.Validate(FailoverKind.Switchover, view, nodes, null, p.GetValue(to), DateTimeOffset.UtcNow);
            if (refusal is not null)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, $"switchover refused: {refusal}");
            }
            var target = p.GetValue(to) ?? SwitchoverRules.BestCandidate(view, leader, nodes)!;
            confirmation.Ask($"Switch over from {leader} to {target}?");
            var admin = new PgBouncerAdmin(cluster, secrets, new ToolRunner(new ProcessLauncher(OsUser.Current())));
            var db = cluster.Database.Name;
            var sentPause = new List<PoolerConfig>();
            var paused = await PhaseProgress.RunAsync($"checkpoint on {leader} before pausing PgBouncers", async phases =>
            {
                await CheckpointBeforePauseAsync(cluster, leader!, ct);
                // The request path warmed up (connection to the leader's agent, JIT) before clients wait on it;
                // best effort: the request itself says what is wrong if the agent does not answer.
                try
                {
                    await api.SendAsync(HttpMethod.Get, "/cluster", null, cluster.Node(leader!), ct);
                }
                catch (PgWardenException)
                {
                }
                phases.Phase($"pausing {cluster.Poolers.Length} PgBouncer(s)");
                var clock = Stopwatch.StartNew();
                var pausedFor = TimeSpan.Zero;
                try
                {
                    // Listed before the commands go out: a PAUSE that times out may still take effect.
                    sentPause.AddRange(cluster.Poolers);
                    await Task.WhenAll(cluster.Poolers.Select(pooler => admin.RunAsync(pooler, $"PAUSE {db}", TimeSpan.FromSeconds(10), ct)));
                    phases.Phase($"PgBouncers paused ({clock.Elapsed.TotalSeconds:0.00} s); {leader} hands over to {target}; each PgBouncer is resumed once it routes to {target}");
                    await api.PostAsync("/switchover", new { leader, candidate = target, timeout = seconds }, cluster.Node(leader!), ct);
                    var targetNode = cluster.Node(target);
                    using var dropped = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    // Each PgBouncer is resumed as soon as it routes to the target (its pooler routes there only
                    // once the target holds the lease and runs as primary, and resumes it itself), watched from the
                    // moment the request is out: one slow pooler keeps only its own clients waiting, and no agent's
                    // view is waited for.
                    var resumed = cluster.Poolers.Select(async pooler =>
                    {
                        await WaitAsync(TimeSpan.FromSeconds(seconds + 2 + 15), $"PgBouncer {pooler.Name} to route to {target}",
                            async () => await admin.RoutesToAsync(pooler, db, targetNode.Address, targetNode.Port, dropped.Token), dropped.Token);
                        await ResumeAsync(admin, [pooler], db);
                        lock (sentPause)
                        {
                            sentPause.Remove(pooler);
                            pausedFor = clock.Elapsed;
                        }
                    }).ToList();
                    var (done, last) = await LeadershipChange.WaitForLeaderAsync(api, target, TimeSpan.FromSeconds(seconds + 2), ct);
                    if (!done)
                    {
                        await dropped.CancelAsync();
                        await Task.WhenAll(resumed.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default)));
                        throw new PgWardenException(ExitCodes.Timeout, $"the switchover to {target} did not complete and was dropped (see the agent log of {leader}); {LeadershipChange.Outcome(last)}");
                    }
                    await Task.WhenAll(resumed);
                }
                finally
                {
                    List<PoolerConfig> left;
                    lock (sentPause)
                    {
                        left = [.. sentPause];
                    }
                    await ResumeAsync(admin, left, db);
                }
                return pausedFor;
            });
            Console.WriteLine($"switched over from {leader} to {target}; writes through PgBouncer were paused for {paused.TotalSeconds:0.00} s");
            return JsonOutput.Result(0, new { from = leader, to = target, paused_seconds = Math.Round(paused.TotalSeconds, 3) });
        });
        return cmd;
    }

    /// <summary>
    /// The replicas' lag in bytes as the leader measured it in its last cycle (GET /node: its
    /// pg_stat_replication rows), or null when the leader's agent does not say; the published
    /// positions are used then.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, long>?> MeasuredLagAsync(AgentApiClient api, NodeConfig leader, CancellationToken ct)
    {
        try
        {
            var node = await api.SendAsync(HttpMethod.Get, "/node", null, leader, ct);
            if (!node.TryGetProperty("replicas", out var rows) || rows.ValueKind != System.Text.Json.JsonValueKind.Array)
            {
                return null;
            }
            var lag = new List<(string, string?, long)>();
            foreach (var row in rows.EnumerateArray())
            {
                if (row.TryGetProperty("application_name", out var name) && row.TryGetProperty("flush_lag_bytes", out var bytes) && bytes.TryGetInt64(out var value))
                {
                    lag.Add((name.GetString() ?? "", row.TryGetProperty("state", out var state) ? state.GetString() : null, value));
                }
            }
            return SwitchoverRules.MeasuredFlushLag(lag);
        }
        catch (PgWardenException)
        {
            return null;
        }
    }

    /// <summary>
    /// A CHECKPOINT on the leader before the PgBouncers pause, so the checkpoint the hand-over takes
    /// while clients wait has little left to write. Best effort: a failure is a warning (the hand-over
    /// checkpoints anyway).
    /// </summary>
    private static async Task CheckpointBeforePauseAsync(ClusterConfig cluster, string leader, CancellationToken ct)
    {
        try
        {
            await using var target = await NodeTarget.OpenAsync(cluster, leader, ct);
            await using var conn = await target.ConnectAsync(ct);
            await using var cmd = new Npgsql.NpgsqlCommand("CHECKPOINT", conn) { CommandTimeout = 60 };
            await cmd.ExecuteNonQueryAsync(ct);
        }
        catch (Exception e) when (e is PgWardenException or Npgsql.NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
        {
            Console.Error.WriteLine($"pgwarden: warning: the checkpoint before pausing failed ({e.Message}); the hand-over checkpoints while PgBouncers wait");
        }
    }

    /// <summary>RESUMEs every pooler that was sent PAUSE (all at once), whatever happened; a pooler that cannot be resumed is named (it resumes itself later).</summary>
    private static async Task ResumeAsync(PgBouncerAdmin admin, List<PoolerConfig> poolers, string db)
    {
        var failed = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(poolers.Select(async pooler =>
        {
            try
            {
                await admin.RunAsync(pooler, $"RESUME {db}", TimeSpan.FromSeconds(10), CancellationToken.None);
            }
            catch (PgWardenException e)
            {
                // "is not paused": its pooler resumed it already, on routing to the new primary.
                if (!e.Message.Contains("is not paused", StringComparison.Ordinal))
                {
                    failed.Add($"{pooler.Name} ({e.Message})");
                }
            }
        }));
        if (failed.Count > 0)
        {
            Console.Error.WriteLine($"pgwarden: warning: could not RESUME {string.Join(", ", failed)}; its pooler process resumes it within 30 s, and `pgwarden status` shows it paused until then");
        }
    }

    /// <summary>Polls <paramref name="done"/> every 50 ms; a failed poll (a psql that could not connect for a moment) is retried until the timeout.</summary>
    private static async Task WaitAsync(TimeSpan timeout, string what, Func<Task<bool>> done, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        string? lastError = null;
        while (true)
        {
            try
            {
                if (await done())
                {
                    return;
                }
            }
            catch (PgWardenException e)
            {
                lastError = e.Message;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"timed out after {timeout.TotalSeconds:0} s waiting for {what}{(lastError is null ? "" : $" (last error: {lastError})")}; PgBouncers resumed, see `pgwarden status`");
            }
            await Task.Delay(50, ct);
        }
    }
}
