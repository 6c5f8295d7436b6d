using Npgsql;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Verify;

/// <summary>
/// What a restore test asks the restored PostgreSQL: that it accepts connections, is out of
/// recovery (physical, after promotion), has the database, and can read every row of every user
/// table in it (count(*) reads each heap page, so data checksums are checked too).
/// </summary>
public static class SanityQueries
{
    public const int ListedTables = 10;

    /// <summary>A one-line summary; throws <see cref="PgWardenException"/> naming what failed.</summary>
    public static async Task<string> RunAsync(string socketDir, int port, string user, string database, bool expectPromoted, CancellationToken ct)
    {
        try
        {
            return await QueryAsync(socketDir, port, user, database, expectPromoted, ct);
        }
        catch (NpgsqlException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"querying the restored PostgreSQL failed: {(e as PostgresException)?.MessageText ?? e.Message}", e);
        }
    }

    private static async Task<string> QueryAsync(string socketDir, int port, string user, string database, bool expectPromoted, CancellationToken ct)
    {
        string Cs(string db) => new NpgsqlConnectionStringBuilder
        {
            Host = socketDir, Port = port, Username = user, Database = db, Pooling = false, Timeout = 10, CommandTimeout = 0,
            ApplicationName = "pgwarden-verify",
        }.ConnectionString;
        await using (var conn = new NpgsqlConnection(Cs("postgres")))
        {
            await conn.OpenAsync(ct);
            if (expectPromoted && await ScalarAsync<bool>(conn, "SELECT pg_is_in_recovery()", ct))
            {
                throw new PgWardenException(ExitCodes.OperationFailed, "the restored PostgreSQL is still in recovery after promotion (pg_is_in_recovery() is true)");
            }
            await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1", conn) { Parameters = { new() { Value = database } } };
            if ((long)(await exists.ExecuteScalarAsync(ct))! == 0)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"the restored PostgreSQL has no database {database}");
            }
        }
        await using var app = new NpgsqlConnection(Cs(database));
        await app.OpenAsync(ct);
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace" +
            " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'" +
            " ORDER BY 1", app))
        await using (var r = await list.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                tables.Add(r.GetString(0));
            }
        }
        var counts = new List<(string Table, long Rows)>();
        foreach (var table in tables)
        {
            try
            {
                counts.Add((table, await ScalarAsync<long>(app, $"SELECT count(*) FROM {table}", ct)));
            }
            catch (PostgresException e)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"reading table {table} of the restored database {database} failed: {e.MessageText}");
            }
        }
        var listed = string.Join(", ", counts.Take(ListedTables).Select(c => $"{c.Table} {c.Rows}"));
        return $"database {database}: {tables.Count} user tables, {counts.Sum(c => c.Rows)} rows" +
               (counts.Count == 0 ? "" : $" ({listed}{(counts.Count > ListedTables ? ", …" : "")})");
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
