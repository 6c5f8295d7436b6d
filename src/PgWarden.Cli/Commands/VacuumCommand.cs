using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Monitoring.Maintenance;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden vacuum [--analyze] [--table T] [--full --table T --yes] [--node N]` on the app database.</summary>
public static class VacuumCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var analyze = new Option<bool>("--analyze") { Description = "also update planner statistics (VACUUM (ANALYZE))" };
        var table = new Option<string?>("--table") { Description = "only this table (`table` or `schema.table`); default: the whole app database" };
        var full = new Option<bool>("--full") { Description = "VACUUM FULL one table: rewrites it under an ACCESS EXCLUSIVE lock (needs --table and --yes)" };
        var yes = CommandAction.YesOption("accept VACUUM FULL's exclusive lock");
        var node = new Option<string?>("--node") { Description = "node to run on (must be the primary; default: the primary)" };
        var json = CommandAction.JsonOption();
        var cmd = new Command("vacuum", "VACUUM (and ANALYZE) the app database or one table; VACUUM FULL only for one table with --yes")
        {
            config, dir, analyze, table, full, yes, node, json,
        };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var tableName = p.GetValue(table);
            Confirmation? confirmation = null;
            if (p.GetValue(full))
            {
                if (tableName is null)
                {
                    throw new PgWardenException(ExitCodes.UnsafeRefused, "VACUUM FULL of a whole database locks every table in turn; name one table with --table (and confirm with --yes)");
                }
                confirmation = Confirmation.For($"vacuum --full (an ACCESS EXCLUSIVE lock on {tableName}: no reads or writes while it rewrites the table)", p.GetValue(yes));
            }
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            await using var target = await NodeTarget.OpenAsync(cluster, p.GetValue(node), ct);
            await using var conn = await target.ConnectAsync(ct);
            await target.RequirePrimaryAsync(conn, "VACUUM", ct);
            string? quoted = null;
            if (tableName is not null)
            {
                var rel = await RelationResolver.ResolveAsync(conn, tableName, "table", ct);
                if (!rel.IsTable)
                {
                    throw new PgWardenException(ExitCodes.NotFound, $"{rel.QuotedName} is not a table");
                }
                quoted = rel.QuotedName;
            }
            confirmation?.Ask($"VACUUM FULL {quoted} holds an ACCESS EXCLUSIVE lock (no reads or writes) until it has rewritten the table, and needs free disk space for a full copy. Go on?");
            var options = new List<string>();
            if (p.GetValue(full))
            {
                Console.Error.WriteLine($"pgwarden: warning: VACUUM FULL holds an ACCESS EXCLUSIVE lock on {quoted} until it has rewritten the table");
                options.Add("FULL");
            }
            if (p.GetValue(analyze))
            {
                options.Add("ANALYZE");
            }
            // The table name is the server's own format('%I.%I') of a resolved OID, never user text.
            var sql = "VACUUM" + (options.Count > 0 ? $" ({string.Join(", ", options)})" : "") + (quoted is null ? "" : " " + quoted);
            var watch = Stopwatch.StartNew();
            try
            {
                await using var cmdSql = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
                await cmdSql.ExecuteNonQueryAsync(ct);
            }
            catch (PostgresException e)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"{sql} failed on {target.Node.Name}: {e.MessageText}");
            }
            Console.WriteLine($"{sql} on {target.Node.Name} ({(quoted is null ? "database " + cluster.Database.Name : "table")}): done in {watch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
            return JsonOutput.Result(ExitCodes.Ok, new { node = target.Node.Name, database = cluster.Database.Name, table = quoted, statement = sql, seconds = Math.Round(watch.Elapsed.TotalSeconds, 3) });
        });
        return cmd;
    }
}
