using System.CommandLine;
using System.Globalization;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Units;
using PgWarden.Monitoring.Actions;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden kill idle|long-running --older-than D [--dry-run] [--yes]`: the runbook's
/// "High Connection Count" fix. Only client backends are ever terminated (see <see cref="SessionTerminator"/>).
/// </summary>
public static class KillCommand
{
    public static Command Create() => new("kill", "terminate idle sessions or long-running queries (client backends only; --dry-run shows who, --yes does it)")
    {
        Sub("idle", SessionKind.Idle, "10m", "terminate sessions idle (state 'idle') for longer than --older-than"),
        Sub("long-running", SessionKind.LongRunning, "1h", "terminate queries active for longer than --older-than"),
    };

    private static Command Sub(string name, SessionKind kind, string defaultAge, string description)
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var olderThan = new Option<string>("--older-than") { Description = $"age threshold: 30s, 10m, 1h, 2d (default {defaultAge})", DefaultValueFactory = _ => defaultAge };
        var dryRun = new Option<bool>("--dry-run") { Description = "only list the sessions that would be terminated" };
        var yes = CommandAction.YesOption("terminate them");
        var node = new Option<string?>("--node") { Description = "node to act on (default: the primary)" };
        var database = new Option<string?>("--database") { Description = "only sessions connected to this database" };
        var user = new Option<string?>("--user") { Description = "only sessions of this role" };
        var json = CommandAction.JsonOption();
        var cmd = new Command(name, description) { config, dir, olderThan, dryRun, yes, node, database, user, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var age = DurationText.Parse(p.GetValue(olderThan)!, "--older-than");
            var dry = p.GetValue(dryRun);
            var confirmation = dry ? null : Confirmation.For($"kill {name} (it terminates sessions; --dry-run shows which)", p.GetValue(yes));
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var filter = new SessionFilter(kind, age, cluster.Database.ReplicationUser, p.GetValue(database), p.GetValue(user));
            await using var target = await NodeTarget.OpenAsync(cluster, p.GetValue(node), ct);
            await using var conn = await target.ConnectAsync(ct);
            var sessions = await SessionTerminator.FindAsync(conn, filter, ct);
            var what = kind == SessionKind.Idle ? $"idle for more than {DurationText.Format(age)}" : $"running a query for more than {DurationText.Format(age)}";
            Print(sessions); // on stderr with --json (JsonOutput), so a terminal still shows who is about to be terminated
            if (dry)
            {
                Console.WriteLine($"dry run on {target.Node.Name}: would terminate {sessions.Count} session{Plural(sessions.Count)} {what}; nothing changed");
                return JsonOutput.Result(ExitCodes.Ok, Data(name, target.Node.Name, age, dry: true, sessions, terminated: []));
            }
            if (sessions.Count > 0)
            {
                confirmation!.Ask($"Terminate these {sessions.Count} session{Plural(sessions.Count)} on {target.Node.Name}?");
            }
            var done = await SessionTerminator.TerminateAsync(conn, filter, sessions.Select(s => s.Pid).ToList(), ct);
            var skipped = sessions.Count - done.Count;
            Console.WriteLine($"terminated {done.Count} session{Plural(done.Count)} {what} on {target.Node.Name}" +
                              (skipped > 0 ? $" ({skipped} no longer matched and were left alone)" : ""));
            return JsonOutput.Result(ExitCodes.Ok, Data(name, target.Node.Name, age, dry: false, sessions, done));
        });
        return cmd;
    }

    /// <summary>The `data` of `kill … --json`: the sessions that matched and the PIDs terminated (none in a dry run).</summary>
    private static object Data(string kind, string node, TimeSpan olderThan, bool dry, IReadOnlyList<SessionInfo> sessions, IReadOnlyList<int> terminated) =>
        new { kind, node, older_than_seconds = olderThan.TotalSeconds, dry_run = dry, sessions, terminated };

    private static string Plural(int n) => n == 1 ? "" : "s";

    private static void Print(IReadOnlyList<SessionInfo> sessions)
    {
        if (sessions.Count == 0)
        {
            return;
        }
        var table = new Table().AddColumns("pid", "user", "database", "application", "client", "state", "age", "query");
        foreach (var s in sessions)
        {
            table.AddRow(
                s.Pid.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(s.User ?? "-"),
                Markup.Escape(s.Database ?? "-"),
                Markup.Escape(string.IsNullOrEmpty(s.Application) ? "-" : s.Application),
                Markup.Escape(s.Client ?? "local"),
                Markup.Escape(s.State ?? "-"),
                s.AgeSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
                Markup.Escape(s.QueryHead));
        }
        AnsiConsole.Write(table);
    }
}
