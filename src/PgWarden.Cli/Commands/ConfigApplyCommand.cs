using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Parameters;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden config apply [FILE] [--set NAME=VALUE]… [--reset NAME]… [--yes] [--timeout S]`
/// (patronictl edit-config): checks every change against the primary's pg_settings (unknown names,
/// malformed or out-of-range values, parameters PgWarden owns — all reported at once), shows the
/// difference and how each change takes effect, asks, writes the dynamic settings and parameters to
/// the DCS (PATCH /config), then waits until every running node has rendered and reloaded them. A
/// node that is down gets them when its agent starts it. Parameters that need a restart are listed
/// per node (also in `status`) until `pgwarden restart` clears them.
/// </summary>
public static class ConfigApplyCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("file") { Description = "YAML with dcs: (ttl, loop_wait, maximum_lag_on_failover, synchronous_mode) and/or postgres: parameters: (null removes one)", Arity = ArgumentArity.ZeroOrOne };
        var set = new Option<string[]>("--set") { Description = "NAME=VALUE: a DCS setting (ttl, loop_wait, maximum_lag_on_failover, synchronous_mode) or a PostgreSQL parameter; repeatable", AllowMultipleArgumentsPerToken = false };
        var reset = new Option<string[]>("--reset") { Description = "remove a PostgreSQL parameter set earlier (the configuration file's or computed value applies again); repeatable" };
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var yes = CommandAction.YesOption("apply the changes");
        var timeout = new Option<int>("--timeout") { Description = "seconds to wait until every running node has reloaded (1..600)", DefaultValueFactory = _ => 30 };
        var json = CommandAction.JsonOption();
        var cmd = new Command("apply", "change dynamic settings and PostgreSQL parameters cluster-wide: shows the difference, asks, applies, reloads") { file, set, reset, config, dir, yes, timeout, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var seconds = p.GetValue(timeout);
            if (seconds is < 1 or > 600)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--timeout must be 1..600 seconds, not {seconds}");
            }
            var patch = ReadPatch(p.GetValue(file), p.GetValue(set) ?? [], p.GetValue(reset) ?? []);
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var confirmation = Confirmation.For("config apply", p.GetValue(yes));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
            IReadOnlyDictionary<string, PgSetting> catalog;
            await using (var target = await NodeTarget.OpenAsync(cluster, null, ct))
            await using (var conn = await target.ConnectAsync(ct))
            {
                catalog = await PgSettingsCatalog.ReadAsync(conn, ct);
            }
            var plan = ConfigPlan.Build(view.Config, patch, catalog);
            if (plan.Changes.Count == 0)
            {
                Console.WriteLine("no change: the cluster already runs with these settings");
                return JsonOutput.Result(0, new { changes = Array.Empty<string>(), nodes = Array.Empty<object>(), restart_needed = Array.Empty<string>() });
            }
            Console.WriteLine($"changes to cluster {cluster.Name}:");
            foreach (var change in plan.Changes)
            {
                Console.WriteLine("  " + change.Describe());
            }
            confirmation.Ask($"Apply {plan.Changes.Count} change(s) to every node of {cluster.Name}?");
            await api.SendAsync(HttpMethod.Patch, "/config", new
            {
                ttl = patch.Ttl,
                loop_wait = patch.LoopWait,
                maximum_lag_on_failover = patch.MaximumLagOnFailover,
                synchronous_mode = patch.SynchronousMode,
                parameters = patch.Parameters.Count == 0 ? null : patch.Parameters,
            }, null, ct);
            var fingerprint = DynamicParameters.Fingerprint(plan.Next.Parameters);
            var after = await MemberWait.UntilAsync(api, TimeSpan.FromSeconds(seconds), "every running node to reload",
                v => v.Members.Values.Where(m => m.PostgresRunning).All(m => m.ParametersApplied == fingerprint),
                v => string.Join(", ", v?.Members.Values.Where(m => m.PostgresRunning && m.ParametersApplied != fingerprint).Select(m => $"{m.Name} not reloaded yet") ?? []), ct);
            return Report(cluster.Nodes.Select(n => n.Name), after, plan);
        });
        return cmd;
    }

    private static ConfigPatch ReadPatch(string? file, string[] sets, string[] resets)
    {
        var patch = ConfigPatch.Empty;
        if (file is not null)
        {
            var full = Path.GetFullPath(file);
            if (!File.Exists(full))
            {
                throw new PgWardenException(ExitCodes.NotFound, $"{file} does not exist");
            }
            patch = ConfigPatch.FromYaml(File.ReadAllText(full), full);
        }
        patch = patch.Merge(ConfigPatch.FromCommandLine(sets, resets));
        return patch.IsEmpty
            ? throw new PgWardenException(ExitCodes.Usage, "nothing to apply: give a FILE, --set NAME=VALUE or --reset NAME")
            : patch;
    }

    /// <summary>Prints each node's outcome; exit 10 when a node rejected a line of its configuration.</summary>
    private static int Report(IEnumerable<string> nodes, ClusterView view, ConfigPlan plan)
    {
        var rejected = new List<string>();
        var outcomes = new List<object>();
        foreach (var name in nodes)
        {
            if (view.Members.GetValueOrDefault(name) is not { PostgresRunning: true } m)
            {
                Console.WriteLine($"{name}: not running — it gets the new settings when its agent starts it");
                outcomes.Add(new { node = name, reloaded = false, pending_restart = Array.Empty<string>() });
                continue;
            }
            var pending = m.PendingRestart.Count > 0 ? $"; restart pending for {string.Join(", ", m.PendingRestart)}" : "";
            Console.WriteLine($"{name}: reloaded{pending}");
            outcomes.Add(new { node = name, reloaded = true, pending_restart = m.PendingRestart });
            rejected.AddRange(m.ConfigErrors.Select(e => $"{name}: {e}"));
        }
        if (rejected.Count > 0)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"PostgreSQL rejected part of the new configuration: {string.Join("; ", rejected)}");
        }
        if (plan.RestartNeeded.Any())
        {
            Console.WriteLine($"{string.Join(", ", plan.RestartNeeded)} take effect after a restart: `pgwarden restart --rolling` (`pgwarden status` shows the nodes waiting)");
        }
        return JsonOutput.Result(0, new { changes = plan.Changes.Select(c => c.Describe()), nodes = outcomes, restart_needed = plan.RestartNeeded });
    }
}
