using System.CommandLine;
using Npgsql;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden history [--json]` (patronictl history): every timeline of the cluster — where it
/// branched off, when, who became primary and why — from the primary's timeline history file
/// (pg_wal/0000000N.history, read with pg_read_file) merged with the promotions PgWarden recorded
/// in the DCS (`history` key: switchover, failover, automatic failover with the WAL it lost).
/// </summary>
public static class HistoryCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("history", "the cluster's timelines: when, to whom and why the primary changed") { config, dir, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
            var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
            await using var target = await NodeTarget.OpenAsync(cluster, null, ct);
            await using var conn = await target.ConnectAsync(ct);
            var (timeline, file) = await ReadHistoryFileAsync(conn, ct);
            var changes = TimelineChange.Merge(timeline, file, view.History);
            if (p.GetValue(json))
            {
                // --json: the data goes in the envelope on stdout (Console.Out is stderr in JSON mode).
                return JsonOutput.Result(0, new
                {
                    timeline,
                    primary = target.Node.Name,
                    timelines = changes.Select(c => new { c.Timeline, c.Parent, switch_lsn = c.SwitchLsn is { } l ? Lsn.Format(l) : null, c.At, c.Leader, c.Reason }),
                });
            }
            var table = new Table().Title($"timelines of {cluster.Name} (primary {target.Node.Name} on timeline {timeline})")
                .AddColumns("timeline", "branched from", "at LSN", "when (UTC)", "new primary", "why");
            foreach (var c in changes)
            {
                table.AddRow(c.Timeline.ToString(), c.Parent?.ToString() ?? "", c.SwitchLsn is { } l ? Lsn.Format(l) : "",
                    c.At is { } at ? at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss") : "", Markup.Escape(c.Leader ?? ""), Markup.Escape(c.Reason));
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }

    /// <summary>The primary's timeline and the history file that leads to it (null on timeline 1, or when it is gone).</summary>
    private static async Task<(long Timeline, string? File)> ReadHistoryFileAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT t.tl,
                   CASE WHEN t.tl > 1 AND EXISTS (SELECT 1 FROM pg_ls_waldir() WHERE name = t.file)
                        THEN pg_read_file('pg_wal/' || t.file) END
            FROM (SELECT tl, lpad(upper(to_hex(tl)), 8, '0') || '.history' AS file
                  FROM (SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint AS tl) x) t
            """, conn);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return (r.GetInt64(0), r.IsDBNull(1) ? null : r.GetString(1));
    }
}
