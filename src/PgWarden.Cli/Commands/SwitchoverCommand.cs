using System.CommandLine;
using System.Diagnostics;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;
using PgWarden.Pooler;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden switchover [--to NODE] [--yes]`: a planned change of primary without failed client
/// transactions — PAUSE the PgBouncers (new transactions wait, running ones finish), have the
/// leader stop cleanly and hand its lease to the candidate, wait until every PgBouncer routes to
/// the new primary, RESUME.
/// </summary>
public static class SwitchoverCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var to = new Option<string?>("--to") { Description = "the replica to promote (default: the most up-to-date one)" };
        var yes = new Option<bool>("--yes") { Description = "do not ask for confirmation" };
        var timeout = new Option<int>("--timeout") { Description = "seconds to wait for the new primary", DefaultValueFactory = _ => 60 };
        var cmd = new Command("switchover", "planned switchover to another node; clients through PgBouncer only see a short pause") { config, dir, to, yes, timeout };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var secrets = ClusterSecrets.Load(cluster.SecretsFile);
            var api = new AgentApiClient(cluster, secrets);
            var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
            var leader = view.Leader?.Name;
            var refusal = SwitchoverRules.Validate("switchover", view, cluster.Nodes.Select(n => n.Name).ToList(), null, p.GetValue(to));
            if (refusal is not null)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, $"switchover refused: {refusal}");
            }
            var target = p.GetValue(to) ?? SwitchoverRules.BestCandidate(view, leader)!;
            if (!p.GetValue(yes) && !Confirm($"Switch over from {leader} to {target}? [y/N] "))
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, "switchover not confirmed (add --yes to run without asking)");
            }
            var admin = new PgBouncerAdmin(cluster, secrets, new ToolRunner(new ProcessLauncher(OsUser.Current())));
            var db = cluster.Database.Name;
            var paused = new List<PoolerConfig>();
            var clock = Stopwatch.StartNew();
            try
            {
                foreach (var pooler in cluster.Poolers)
                {
                    await admin.RunAsync(pooler, $"PAUSE {db}", TimeSpan.FromSeconds(15), ct);
                    paused.Add(pooler);
                }
                Console.WriteLine($"PgBouncers paused ({clock.Elapsed.TotalSeconds:0.00} s); asking {leader} to hand over to {target}");
                await api.PostAsync("/switchover", new { leader, candidate = target }, cluster.Node(leader!), ct);
                await WaitAsync(TimeSpan.FromSeconds(p.GetValue(timeout)), $"{target} to become the primary", async () =>
                {
                    var v = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
                    return v.Leader?.Name == target && v.Members.TryGetValue(target, out var m) && m is { PostgresRunning: true, Role: NodeRole.Primary };
                }, ct);
                var address = cluster.Node(target).Address;
                foreach (var pooler in cluster.Poolers)
                {
                    await WaitAsync(TimeSpan.FromSeconds(15), $"PgBouncer {pooler.Name} to route to {target}",
                        async () => await admin.RouteAsync(pooler, db, ct) == address, ct);
                }
            }
            finally
            {
                foreach (var pooler in paused)
                {
                    await admin.RunAsync(pooler, $"RESUME {db}", TimeSpan.FromSeconds(10), CancellationToken.None);
                }
            }
            Console.WriteLine($"switched over from {leader} to {target}; writes through PgBouncer were paused for {clock.Elapsed.TotalSeconds:0.00} s");
            return 0;
        });
        return cmd;
    }

    private static async Task WaitAsync(TimeSpan timeout, string what, Func<Task<bool>> done, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"timed out after {timeout.TotalSeconds:0} s waiting for {what}; PgBouncers resumed, see `pgwarden status`");
            }
            await Task.Delay(100, ct);
        }
    }

    private static bool Confirm(string question)
    {
        if (Console.IsInputRedirected)
        {
            return false;
        }
        Console.Write(question);
        return Console.ReadLine()?.Trim().ToLowerInvariant() is "y" or "yes";
    }
}
