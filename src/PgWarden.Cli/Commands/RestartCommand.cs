using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden restart NODE | --rolling [--pending] [--yes] [--timeout S]` (patronictl restart): the
/// node's agent restarts its PostgreSQL (fast shutdown, start with the current configuration) as a
/// planned stop, so the HA loop neither counts a crash nor fails over; the primary restarts in
/// place with its lease kept. `--rolling`: every replica one at a time, each waited for until it
/// streams again, then a switchover (PgBouncers paused, as `pgwarden switchover`) to a restarted
/// replica, then the old primary unless the switchover already restarted it. `--pending` restarts
/// only nodes with a parameter waiting for a restart (and switches over only if the primary has one).
/// </summary>
public static class RestartCommand
{
    public static Command Create()
    {
        var node = new Argument<string?>("node") { Description = "the node to restart (its PostgreSQL; a primary restarts in place)", Arity = ArgumentArity.ZeroOrOne };
        var rolling = new Option<bool>("--rolling") { Description = "restart every node, replicas first, one at a time, then switch over and restart the old primary" };
        var pendingOnly = new Option<bool>("--pending") { Description = "only nodes with a parameter waiting for a restart" };
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var yes = CommandAction.YesOption("restart");
        var timeout = new Option<int>("--timeout") { Description = "seconds each node has to come back (1..3600)", DefaultValueFactory = _ => 120 };
        var json = CommandAction.JsonOption();
        var cmd = new Command("restart", "restart PostgreSQL on a node, or rolling over the cluster (replicas, switchover, old primary)") { node, rolling, pendingOnly, config, dir, yes, timeout, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var seconds = p.GetValue(timeout);
            if (seconds is < 1 or > 3600)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--timeout must be 1..3600 seconds, not {seconds}");
            }
            var named = p.GetValue(node);
            if ((named is null) == !p.GetValue(rolling))
            {
                throw new PgWardenException(ExitCodes.Usage, named is null
                    ? "say what to restart: a NODE, or --rolling for the whole cluster"
                    : "give either a NODE or --rolling, not both");
            }
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            if (named is not null)
            {
                cluster.Node(named);
            }
            var confirmation = Confirmation.For("restart", p.GetValue(yes));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
            var wait = TimeSpan.FromSeconds(seconds);
            // --json: what happened to each node, in order (the progress lines go to stderr then).
            var steps = new List<RestartStep>();
            if (named is not null)
            {
                if (p.GetValue(pendingOnly) && view.Members.GetValueOrDefault(named) is { PendingRestart.Count: 0 })
                {
                    Console.WriteLine($"{named}: no restart pending; nothing to do");
                    return JsonOutput.Result(0, new { steps });
                }
                confirmation.Ask($"Restart PostgreSQL on {named}{(view.Leader?.Name == named ? " (the primary: writes stop until it is back)" : "")}?");
                steps.Add(await RestartOneAsync(api, cluster, named, wait, ct));
                return JsonOutput.Result(0, new { steps });
            }
            // Recorded before the work (the list fills as it goes): a failure's envelope carries the steps done.
            JsonOutput.Result(0, new { steps });
            await RollingAsync(api, cluster, view, p.GetValue(pendingOnly), confirmation, wait, p.GetValue(config), p.GetValue(dir), steps, ct);
            return JsonOutput.Result(0, new { steps });
        });
        return cmd;
    }

    /// <summary>One step of a restart, for --json: the node, what was done (restarted, switched over away from it, restarted by the switchover) and how long it took in seconds.</summary>
    public sealed record RestartStep(string Node, string Action, double Seconds);

    private static async Task RollingAsync(AgentApiClient api, ClusterConfig cluster, ClusterView view, bool pendingOnly, Confirmation confirmation,
        TimeSpan wait, string? configPath, string? dirPath, List<RestartStep> steps, CancellationToken ct)
    {
        var leader = view.Leader?.Name ?? throw new PgWardenException(ExitCodes.NotRunning, "there is no leader: a rolling restart needs a healthy cluster (`pgwarden status`)");
        bool Wanted(string n) => !pendingOnly || view.Members.GetValueOrDefault(n) is { PendingRestart.Count: > 0 };
        var down = cluster.Nodes.Select(n => n.Name).Where(n => view.Members.GetValueOrDefault(n) is not { PostgresRunning: true }).ToList();
        if (down.Count > 0)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"rolling restart refused: {string.Join(", ", down)} not running — restarting the others would leave fewer copies; bring it back first");
        }
        var replicas = cluster.Nodes.Select(n => n.Name).Where(n => n != leader && Wanted(n)).ToList();
        var primaryToo = Wanted(leader);
        if (replicas.Count == 0 && !primaryToo)
        {
            Console.WriteLine("no node has a restart pending; nothing to do");
            return;
        }
        confirmation.Ask($"Rolling restart of {cluster.Name}: {(replicas.Count > 0 ? string.Join(", ", replicas) + " one at a time" : "no replica")}{(primaryToo ? $", then a switchover away from {leader} and its restart" : "")}?");
        foreach (var replica in replicas)
        {
            steps.Add(await RestartOneAsync(api, cluster, replica, wait, ct));
        }
        if (!primaryToo)
        {
            return;
        }
        var before = view.Members[leader].PostgresStartedAt;
        var args = new List<string> { "--yes", "--timeout", "60" };
        args.AddRange(configPath is not null ? ["--config", configPath] : dirPath is not null ? ["--dir", dirPath] : ["--config", cluster.ConfigFile]);
        Console.WriteLine($"switching over away from {leader}");
        var switchStarted = DateTime.UtcNow;
        var code = await SwitchoverCommand.Create().Parse(args).InvokeAsync(cancellationToken: ct);
        // The nested switchover records its own result in the shared envelope: put the steps back.
        JsonOutput.Result(0, new { steps });
        if (code != 0)
        {
            throw new PgWardenException(code, $"the switchover away from {leader} failed (above); {leader} was not restarted");
        }
        var after = await MemberWait.UntilAsync(api, wait, $"{leader} to stream from the new primary",
            v => v.Members.GetValueOrDefault(leader) is { PostgresRunning: true, Role: NodeRole.Replica, State: "streaming" },
            v => MemberWait.State(v, leader), ct);
        if (after.Members[leader].PostgresStartedAt != before && after.Members[leader].PendingRestart.Count == 0)
        {
            Console.WriteLine($"{leader}: restarted as a replica by the switchover; streaming");
            steps.Add(new RestartStep(leader, "switched over away from it, restarted as a replica by the switchover", Math.Round((DateTime.UtcNow - switchStarted).TotalSeconds, 1)));
            return;
        }
        steps.Add(new RestartStep(leader, "switched over away from it", Math.Round((DateTime.UtcNow - switchStarted).TotalSeconds, 1)));
        steps.Add(await RestartOneAsync(api, cluster, leader, wait, ct));
    }

    /// <summary>Asks the node's agent to restart and waits until a new postmaster runs in the same role (a replica streaming again).</summary>
    private static async Task<RestartStep> RestartOneAsync(AgentApiClient api, ClusterConfig cluster, string name, TimeSpan wait, CancellationToken ct)
    {
        var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
        var before = view.Members.GetValueOrDefault(name)?.PostgresStartedAt;
        var wasPrimary = view.Leader?.Name == name;
        var started = DateTime.UtcNow;
        await api.PostAsync("/restart", null, cluster.Node(name), ct);
        await MemberWait.UntilAsync(api, wait, $"{name} to come back after its restart",
            v => v.Members.GetValueOrDefault(name) is { PostgresRunning: true } m && m.PostgresStartedAt != before
                 && (wasPrimary ? m.Role == NodeRole.Primary && v.Leader?.Name == name : m is { Role: NodeRole.Replica, State: "streaming" }),
            v => MemberWait.State(v, name), ct);
        var took = Math.Round((DateTime.UtcNow - started).TotalSeconds, 1);
        Console.WriteLine($"{name}: restarted ({took:0.0} s){(wasPrimary ? ", still the primary" : ", streaming again")}");
        return new RestartStep(name, wasPrimary ? "restarted in place (primary, lease kept)" : "restarted (replica, streaming again)", took);
    }
}
