using System.CommandLine;
using System.Globalization;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden status [--json]`: exit 0 healthy, 1 degraded, 8 unreachable (not running).</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("status", "nodes, roles, LSNs, replication lag, slots and PgBouncers (exit 0 healthy, 1 degraded, 8 unreachable)") { config, dir, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var report = await ProbeAsync(cluster, ct);
            if (p.GetValue(json))
            {
                return JsonOutput.Result(ExitCode(report), report);
            }
            Print(report);
            return ExitCode(report);
        });
        return cmd;
    }

    public static async Task<ClusterReport> ProbeAsync(ClusterConfig cluster, CancellationToken ct)
    {
        ClusterSecrets? secrets = null;
        try
        {
            secrets = ClusterSecrets.Load(cluster.SecretsFile);
        }
        catch (PgWardenException)
        {
            // Without the secrets PgBouncers are only checked for a listening port.
        }
        return await ClusterProbe.ProbeAsync(cluster, secrets, checkPoolers: true, ct);
    }

    public static int ExitCode(ClusterReport report) => report.Health switch
    {
        "healthy" => ExitCodes.Ok,
        "degraded" => ExitCodes.Degraded,
        _ => ExitCodes.NotRunning,
    };

    public static void Print(ClusterReport report)
    {
        var color = report.Health switch { "healthy" => "green", "degraded" => "yellow", _ => "red" };
        AnsiConsole.MarkupLine($"Cluster [bold]{Markup.Escape(report.Cluster)}[/]: [{color}]{report.Health}[/], primary {Markup.Escape(report.Primary ?? "none")}, " +
            $"leader lease {Markup.Escape(report.Leader ?? "free")}{(report.LeaseRemainingSeconds is { } r ? $" ({r:0.0} s left)" : "")}" +
            (report.Paused ? ", [yellow]failover paused[/]" : ""));
        if (report.Settings is { } c)
        {
            AnsiConsole.MarkupLine(Markup.Escape($"settings: ttl {c.Ttl} s, loop_wait {c.LoopWait} s, maximum_lag_on_failover {c.MaximumLagOnFailover} bytes, synchronous_mode {(c.SynchronousMode ? "on" : "off")}"));
        }
        var nodes = new Table().AddColumns("node", "address", "role", "state", "TL", "current/receive LSN", "replay LSN", "lag bytes", "lag s", "slot");
        foreach (var n in report.Nodes)
        {
            nodes.AddRow(n.Name, $"{n.Address}:{n.Port}", n.Role.ToString().ToLowerInvariant(), Markup.Escape(n.State + (n.WalReceiver is { } w ? $" ({w})" : "")),
                n.Timeline?.ToString(CultureInfo.InvariantCulture) ?? "-", n.CurrentLsn ?? n.ReceiveLsn ?? "-", n.ReplayLsn ?? "-",
                n.LagBytes?.ToString(CultureInfo.InvariantCulture) ?? "-", n.LagSeconds?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-",
                n.SlotName is null ? "-" : $"{n.SlotName} ({(n.SlotActive == true ? "active" : "inactive")})");
        }
        AnsiConsole.Write(nodes);
        if (report.ScheduledSwitchover is { } planned)
        {
            AnsiConsole.MarkupLine(Markup.Escape($"scheduled: {planned.Describe()} (from {planned.From}; `pgwarden switchover --cancel` removes it)"));
        }
        foreach (var n in report.Nodes.Where(n => n.PendingRestart.Count > 0))
        {
            AnsiConsole.MarkupLine(Markup.Escape($"{n.Name}: restart pending ({string.Join(", ", n.PendingRestart)}): `pgwarden restart --rolling --pending`"));
        }
        foreach (var n in report.Nodes.Where(n => n.AsideCopies > 0))
        {
            AnsiConsole.MarkupLine(Markup.Escape($"{n.Name}: {n.AsideCopies} data director{(n.AsideCopies == 1 ? "y" : "ies")} set aside by a re-clone ({Core.Units.ByteSize.Human(n.AsideBytes)}), kept next to its data directory; remove it when no longer needed"));
        }
        if (report.Poolers.Count > 0)
        {
            var poolers = new Table().AddColumns("pooler", "address", "listening", "write route", "read route");
            foreach (var p in report.Poolers)
            {
                poolers.AddRow(p.Name, $"{p.Address}:{p.Port}", p.Reachable ? "yes" : "no", Route(p.WriteRouteWorks), Route(p.ReadRouteWorks));
            }
            AnsiConsole.Write(poolers);
        }
        foreach (var run in report.ScheduledBackups)
        {
            AnsiConsole.MarkupLine(Markup.Escape($"{run.What}: {run.Status} on {run.Node} (slot {run.Slot:u}" +
                (run.Finished is { } f ? $", finished {f:u}" : "") + ")" +
                (run.LastSuccess is { } ok ? $"; last success {ok:u}" : "; no success yet") + (run.Detail is { } d ? $" — {d}" : "")));
        }
        foreach (var problem in report.Problems)
        {
            AnsiConsole.MarkupLine($"[yellow]problem:[/] {Markup.Escape(problem)}");
        }
        static string Route(bool? ok) => ok switch { true => "ok", false => "failing", null => "-" };
    }
}
