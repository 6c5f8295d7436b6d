using System.CommandLine;
using System.Text.Json;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;
using PgWarden.Monitoring.Checks;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden check daily|weekly|monthly|archive`: the runbook's checklist, in the Nagios convention monitoring
/// systems read: exit 0 OK, 1 WARN, 2 FAIL (critical), 3 UNKNOWN when it cannot judge (the cluster is unreachable,
/// the command line or the configuration is wrong).
/// </summary>
public static class CheckCommand
{
    public static Command Create()
    {
        var period = new Argument<string>("period") { Description = "daily, weekly or monthly; or archive: prove the WAL archive end to end" };
        period.AcceptOnlyFromAmong([.. Checklist.Periods, "archive"]);
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("check", "run the runbook's maintenance checklist (Nagios exit codes: 0 all OK, 1 a warning, 2 a failure, 3 unknown: cannot check)") { period, config, dir, json };
        CommandAction.SetNagios(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var secrets = ClusterSecrets.Load(cluster.SecretsFile);
            var primary = await PrimaryLocator.FindAsync(cluster, ct);
            IReadOnlyList<CheckResult> results;
            if (p.GetValue(period) == "archive")
            {
                results = [await ArchiveCheck.RunAsync(cluster, primary, secrets, ct)];
            }
            else
            {
                var agents = new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(3), cluster));
                var nodes = await agents.GetAllAsync(cluster.Nodes, ct);
                var ctx = new ChecklistContext(nodes, Path.Combine(cluster.BaseDir, "state", "size-history.log"),
                    Directory.Exists(primary.DataDir) ? primary.DataDir : null, new CheckThresholds(), DateTimeOffset.UtcNow)
                {
                    Backups = await Backup.Catalog.CatalogSummaryReader.ReadAsync(cluster, ct) is { } summary
                        ? summary with { ClusterCreated = SystemIdentifierTime.CreatedAt(nodes.GetValueOrDefault(primary.Name)?.SystemIdentifier, DateTimeOffset.UtcNow) }
                        : null,
                };
                await using var source = PrimaryLocator.Superuser(cluster, primary, secrets, cluster.Database.Name);
                await using var conn = await source.OpenConnectionAsync(ct);
                results = await Checklist.RunAsync(p.GetValue(period)!, conn, ctx, ct);
            }
            var exit = CheckResult.ExitCode(results);
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { check = p.GetValue(period), status = ((CheckStatus)exit).ToString().ToLowerInvariant(), exit_code = exit, items = results }, Json.Options));
            }
            else
            {
                var table = new Table().AddColumns("item", "status", "reason");
                foreach (var r in results)
                {
                    var color = r.Status switch { CheckStatus.Ok => "green", CheckStatus.Warn => "yellow", _ => "red" };
                    table.AddRow(Markup.Escape(r.Name), $"[{color}]{r.Status.ToString().ToUpperInvariant()}[/]", Markup.Escape(r.Reason));
                }
                AnsiConsole.Write(table);
                Console.WriteLine($"{p.GetValue(period)} check: {((CheckStatus)exit).ToString().ToUpperInvariant()}");
            }
            return exit;
        });
        return cmd;
    }
}
