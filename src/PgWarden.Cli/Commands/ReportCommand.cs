using System.CommandLine;
using System.Globalization;
using Npgsql;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Units;
using PgWarden.Monitoring.Reports;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden report NAME [--node N] [--json] [--limit N] [--older-than D] [--reset]`; `report` or `report list` lists them.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var name = new Argument<string?>("name") { Description = "the report to run (omit, or `list`, to list them)", Arity = ArgumentArity.ZeroOrOne };
        var node = new Option<string?>("--node") { Description = "run on this node (default: the primary)" };
        var limit = new Option<int>("--limit") { Description = "at most this many rows (per section)", DefaultValueFactory = _ => 20 };
        var olderThan = new Option<string?>("--older-than") { Description = "age threshold for long-running: 30s, 10m, 1h, 2d (default 5m)" };
        var reset = new Option<bool>("--reset") { Description = "slow-queries only: reset pg_stat_statements after printing the report" };
        var cmd = new Command("report", "run a monitoring report (sizes, connections, slow-queries, bloat, replication, …); `pgwarden report` lists them")
        {
            name, config, dir, node, json, limit, olderThan, reset,
        };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var reportName = p.GetValue(name);
            if (reportName is null or "list")
            {
                if (p.GetValue(json))
                {
                    return JsonOutput.Result(ExitCodes.Ok, new { reports = ReportCatalog.All.Select(r => new { name = r.Name, description = r.Description }) });
                }
                PrintList();
                return ExitCodes.Ok;
            }
            var report = ReportCatalog.Get(reportName);
            if (p.GetValue(reset) && report.Name != "slow-queries")
            {
                throw new PgWardenException(ExitCodes.Usage, "--reset applies only to the slow-queries report");
            }
            TimeSpan? threshold = p.GetValue(olderThan) is { } text ? DurationText.Parse(text, "--older-than") : null;
            if (threshold is not null && !report.UsesOlderThan)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--older-than does not apply to the {report.Name} report");
            }
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            await using var target = await NodeTarget.OpenAsync(cluster, p.GetValue(node), ct);
            await using var conn = await target.ConnectAsync(ct);
            ReportResult result;
            try
            {
                result = await ReportRunner.RunAsync(conn, report, new ReportOptions(p.GetValue(limit), threshold), ct);
            }
            catch (PostgresException e)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"report {report.Name} failed on {target.Node.Name}: {e.MessageText}");
            }
            if (p.GetValue(json))
            {
                JsonOutput.Result(ExitCodes.Ok, ToData(result, target.Node.Name));
            }
            else
            {
                Print(result, target.Node.Name);
            }
            if (p.GetValue(reset))
            {
                await using var resetCmd = new NpgsqlCommand("SELECT pg_stat_statements_reset()", conn);
                await resetCmd.ExecuteNonQueryAsync(ct);
                // With --json Console.Out is stderr (JsonOutput), so stdout stays one JSON document.
                Console.WriteLine($"pg_stat_statements reset on {target.Node.Name}");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The `data` of `report NAME --json`: <c>{report, node, columns, rows: [{column: value}]}</c>.</summary>
    public static object ToData(ReportResult result, string node)
    {
        var rows = result.Rows.Select(r =>
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < result.Columns.Count; i++)
            {
                row[result.Columns[i]] = r[i];
            }
            return row;
        }).ToList();
        return new { report = result.Name, node, columns = result.Columns, rows };
    }

    private static void PrintList()
    {
        var table = new Table().AddColumns("report", "what it shows");
        foreach (var r in ReportCatalog.All)
        {
            table.AddRow(r.Name, Markup.Escape(r.Description));
        }
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine("run one with `pgwarden report NAME` (options: --node, --json, --limit, --older-than, --reset)");
    }

    private static void Print(ReportResult result, string node)
    {
        AnsiConsole.MarkupLine($"report [bold]{Markup.Escape(result.Name)}[/] on {Markup.Escape(node)}: {result.Rows.Count} row{(result.Rows.Count == 1 ? "" : "s")}");
        if (result.Rows.Count == 0)
        {
            return;
        }
        var table = new Table();
        foreach (var c in result.Columns)
        {
            table.AddColumn(Markup.Escape(c));
        }
        foreach (var row in result.Rows)
        {
            table.AddRow(row.Select((v, i) => Markup.Escape(Format(result.Columns[i], v))).ToArray());
        }
        AnsiConsole.Write(table);
    }

    private static string Format(string column, object? value) => value switch
    {
        null => "-",
        long or int when column.EndsWith("bytes", StringComparison.Ordinal) => ByteSize.Human(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        decimal d when column.EndsWith("bytes", StringComparison.Ordinal) => ByteSize.Human((long)d),
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + (t.Kind == DateTimeKind.Utc ? "Z" : ""),
        bool b => b ? "yes" : "no",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
