using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Monitoring.Maintenance;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden reindex --concurrently TARGET` (an index, or `table:NAME` for all of a table's indexes).</summary>
public static class ReindexCommand
{
    private const string TablePrefix = "table:";

    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var targetArg = new Argument<string>("target") { Description = "an index (`index` or `schema.index`), or `table:NAME` for every index of a table" };
        var concurrently = new Option<bool>("--concurrently") { Description = "REINDEX … CONCURRENTLY: no lock that blocks reads or writes (recommended)" };
        var yes = CommandAction.YesOption("without --concurrently: accept the locks a plain REINDEX takes");
        var node = new Option<string?>("--node") { Description = "node to run on (must be the primary; default: the primary)" };
        var json = CommandAction.JsonOption();
        var cmd = new Command("reindex", "rebuild an index or a table's indexes (use --concurrently; a plain REINDEX blocks writes)")
        {
            targetArg, config, dir, concurrently, yes, node, json,
        };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var target = p.GetValue(targetArg)!;
            var isTable = target.StartsWith(TablePrefix, StringComparison.Ordinal);
            var name = isTable ? target[TablePrefix.Length..] : target;
            var conc = p.GetValue(concurrently);
            var confirmation = conc ? null
                : Confirmation.For("a plain REINDEX (it blocks writes to the table, and reads using the index, until it finishes; use --concurrently)", p.GetValue(yes));
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            await using var nodeTarget = await NodeTarget.OpenAsync(cluster, p.GetValue(node), ct);
            await using var conn = await nodeTarget.ConnectAsync(ct);
            await nodeTarget.RequirePrimaryAsync(conn, "REINDEX", ct);
            var rel = await RelationResolver.ResolveAsync(conn, name, isTable ? "table" : "index", ct);
            if (isTable ? !rel.IsTable : !rel.IsIndex)
            {
                throw new PgWardenException(ExitCodes.NotFound,
                    isTable ? $"{rel.QuotedName} is not a table" : $"{rel.QuotedName} is not an index (for all indexes of a table use table:{name})");
            }
            confirmation?.Ask($"A plain REINDEX of {rel.QuotedName} blocks writes until it finishes (--concurrently does not). Go on?");
            var sql = $"REINDEX {(isTable ? "TABLE" : "INDEX")}{(conc ? " CONCURRENTLY" : "")} {rel.QuotedName}";
            var watch = Stopwatch.StartNew();
            await using var observer = await nodeTarget.ConnectAsync(ct);
            var blockers = await PhaseProgress.RunAsync($"{sql} on {nodeTarget.Node.Name}", async phases =>
            {
                try
                {
                    await using var reindex = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
                    return await LockWaitReporter.WhileAsync(reindex.ExecuteNonQueryAsync(ct), sql, conn.ProcessID, observer, phases, ct);
                }
                catch (PostgresException e)
                {
                    throw new PgWardenException(ExitCodes.OperationFailed, $"{sql} failed on {nodeTarget.Node.Name}: {e.MessageText}");
                }
            });
            var elapsed = watch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
            Console.WriteLine($"{sql} on {nodeTarget.Node.Name}: done in {elapsed} s");
            var indexes = await IndexValidityAsync(conn, rel, ct);
            foreach (var (index, valid) in indexes)
            {
                Console.WriteLine($"  {index}: {(valid ? "valid" : "INVALID")}");
            }
            return JsonOutput.Result(ExitCodes.Ok, new
            {
                node = nodeTarget.Node.Name, statement = sql, seconds = Math.Round(watch.Elapsed.TotalSeconds, 3),
                indexes = indexes.Select(i => new { name = i.Index, valid = i.Valid }), blocked_by = blockers,
            });
        });
        return cmd;
    }

    private static async Task<List<(string Index, bool Valid)>> IndexValidityAsync(NpgsqlConnection conn, ResolvedRelation rel, CancellationToken ct)
    {
        const string sql = """
            SELECT format('%I.%I', n.nspname, c.relname), i.indisvalid AND i.indisready
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE i.indexrelid = to_regclass(@name) OR i.indrelid = to_regclass(@name)
            ORDER BY 1
            LIMIT 1000
            """;
        await using var cmd = new NpgsqlCommand(sql, conn);
        // By name: REINDEX … CONCURRENTLY swaps in a new index, so the old OID is gone.
        cmd.Parameters.AddWithValue("name", rel.QuotedName);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<(string, bool)>();
        while (await reader.ReadAsync(ct))
        {
            list.Add((reader.GetString(0), reader.GetBoolean(1)));
        }
        return list;
    }
}
