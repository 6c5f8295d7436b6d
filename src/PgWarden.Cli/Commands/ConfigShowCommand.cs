using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;
using PgWarden.Core.Dcs;
using PgWarden.Core.Security;
using PgWarden.Core.Units;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden config show [--json]` (patronictl show-config): the cluster's dynamic settings from the
/// DCS, the PostgreSQL parameters set cluster-wide with `config apply`, the parameters the primary
/// runs with that are not at PostgreSQL's defaults, and the nodes waiting for a restart.
/// </summary>
public static class ConfigShowCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("show", "the cluster's dynamic settings (DCS) and the PostgreSQL parameters in effect") { config, dir, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
            await using var target = await NodeTarget.OpenAsync(cluster, null, ct);
            await using var conn = await target.ConnectAsync(ct);
            var inEffect = await PgSettingsCatalog.NonDefaultAsync(conn, ct);
            var c = view.Config;
            var pending = view.Members.Values.Where(m => m.PendingRestart.Count > 0).OrderBy(m => m.Name).ToList();
            if (p.GetValue(json))
            {
                // --json: the data goes in the envelope on stdout (Console.Out is stderr in JSON mode).
                return JsonOutput.Result(0, new
                {
                    dcs = new { ttl = c.Ttl, loop_wait = c.LoopWait, maximum_lag_on_failover = c.MaximumLagOnFailover, synchronous_mode = c.SynchronousMode, paused = c.Paused },
                    parameters = c.Parameters,
                    primary = target.Node.Name,
                    in_effect = inEffect,
                    pending_restart = pending.ToDictionary(m => m.Name, m => m.PendingRestart),
                });
            }
            Console.WriteLine($"dynamic settings (DCS): ttl {c.Ttl} s, loop_wait {c.LoopWait} s, maximum_lag_on_failover {ByteSize.Human(c.MaximumLagOnFailover)}, synchronous_mode {(c.SynchronousMode ? "on" : "off")}, paused {(c.Paused ? "yes" : "no")}");
            Console.WriteLine(c.Parameters.Count == 0
                ? "parameters set with `config apply`: none"
                : $"parameters set with `config apply`: {string.Join(", ", c.Parameters.Select(kv => $"{kv.Key} = {kv.Value}"))}");
            var table = new Table().Title($"PostgreSQL parameters in effect on {target.Node.Name} (primary), not at PostgreSQL's defaults")
                .AddColumns("name", "value", "source", "takes effect by", "restart pending");
            foreach (var s in inEffect)
            {
                table.AddRow(Markup.Escape(s.Name), Markup.Escape(s.Value), Markup.Escape(s.Source),
                    s.Context is "postmaster" or "internal" ? "restart" : "reload", s.PendingRestart ? "yes" : "");
            }
            AnsiConsole.Write(table);
            foreach (var m in pending)
            {
                Console.WriteLine($"restart pending on {m.Name}: {string.Join(", ", m.PendingRestart)} (`pgwarden restart --rolling`)");
            }
            return 0;
        });
        return cmd;
    }
}
