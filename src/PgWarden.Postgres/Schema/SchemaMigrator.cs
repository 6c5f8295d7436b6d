using Npgsql;
using PgWarden.Postgres.Sql;

namespace PgWarden.Postgres.Schema;

/// <summary>
/// Creates the BookReader schema and the runbook's indexes on the primary. Safe to rerun: tables
/// are created if missing, each index is built CONCURRENTLY (outside a transaction, so writes go
/// on), and an index left INVALID by an interrupted concurrent build is dropped and rebuilt. On a
/// database without tables the indexes are built in the transaction that creates the tables: nobody
/// can see those tables before it commits, so there is nothing to build concurrently around (and 14
/// concurrent builds, each waiting for every running transaction, would cost seconds at `up`).
/// </summary>
public sealed class SchemaMigrator(NpgsqlDataSource appDatabaseAsSuperuser, string appRole)
{
    public sealed record Result(int TablesCreated, IReadOnlyList<string> IndexesBuilt, IReadOnlyList<string> IndexesRepaired, IReadOnlyList<string> IndexesKept);

    public async Task<Result> MigrateAsync(Action<string>? progress, CancellationToken ct)
    {
        await using var conn = await appDatabaseAsSuperuser.OpenConnectionAsync(ct);
        await Exec(conn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", ct);
        // The app owns its tables: create them as the app role.
        await Exec(conn, $"SET ROLE {ClusterBootstrapSql.Quote(appRole)}", ct);
        var before = await CountTables(conn, ct);
        await using (var tx = await conn.BeginTransactionAsync(ct))
        {
            foreach (var ddl in BookReaderSchema.Tables)
            {
                await Exec(conn, ddl, ct);
            }
            await Exec(conn, """
                CREATE TABLE IF NOT EXISTS pgwarden_schema_version (
                    version     integer PRIMARY KEY,
                    applied_at  timestamptz NOT NULL DEFAULT now())
                """, ct);
            await Exec(conn, $"INSERT INTO pgwarden_schema_version (version) VALUES ({BookReaderSchema.Version}) ON CONFLICT DO NOTHING", ct);
            if (before == 0)
            {
                progress?.Invoke($"building {BookReaderSchema.Indexes.Length} indexes with the new tables (not yet visible to anyone)");
                foreach (var index in BookReaderSchema.Indexes)
                {
                    await Exec(conn, index.CreateInTransactionSql, ct);
                }
            }
            await tx.CommitAsync(ct);
        }
        var created = (int)(await CountTables(conn, ct) - before);

        var built = new List<string>();
        var repaired = new List<string>();
        var kept = new List<string>();
        if (before == 0)
        {
            built.AddRange(BookReaderSchema.Indexes.Select(i => i.Name));
        }
        foreach (var index in before == 0 ? Array.Empty<IndexSpec>() : BookReaderSchema.Indexes)
        {
            var valid = await IndexValidity(conn, index.Name, ct);
            if (valid == true)
            {
                kept.Add(index.Name);
                continue;
            }
            if (valid == false)
            {
                progress?.Invoke($"index {index.Name} is INVALID (an interrupted concurrent build): dropping and rebuilding it");
                await Exec(conn, $"DROP INDEX CONCURRENTLY IF EXISTS {index.Name}", ct);
                repaired.Add(index.Name);
            }
            else
            {
                built.Add(index.Name);
            }
            progress?.Invoke($"building index {index.Name} concurrently");
            await Exec(conn, index.CreateSql, ct, timeout: 0);
        }
        await Exec(conn, "RESET ROLE", ct);
        return new Result(created, built, repaired, kept);
    }

    /// <summary>True (valid), false (INVALID) or null (missing) for an index in the public schema.</summary>
    public static async Task<bool?> IndexValidity(NpgsqlConnection conn, string name, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT i.indisvalid AND i.indisready FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relname = $1
            """, conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        return await cmd.ExecuteScalarAsync(ct) is bool b ? b : null;
    }

    private static async Task<long> CountTables(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", conn);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task Exec(NpgsqlConnection conn, string sql, CancellationToken ct, int timeout = 60)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = timeout };
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
