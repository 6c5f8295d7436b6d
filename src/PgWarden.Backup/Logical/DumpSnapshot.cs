using System.Data;
using Npgsql;

namespace PgWarden.Backup.Logical;

/// <summary>
/// The transaction a logical backup is consistent in: REPEATABLE READ, its snapshot exported for
/// pg_dump (--snapshot) and for the connections that read table slices (SET TRANSACTION SNAPSHOT).
/// It lists the tables large enough to slice and takes pg_dump's ACCESS SHARE lock on them, so they
/// cannot be dropped or rewritten under the dump. Open until the whole dump is read.
/// </summary>
public sealed class DumpSnapshot : IAsyncDisposable
{
    private readonly NpgsqlConnection _conn;
    private readonly NpgsqlTransaction _tx;

    private DumpSnapshot(NpgsqlConnection conn, NpgsqlTransaction tx, string id, string encoding, int blockSize)
    {
        _conn = conn;
        _tx = tx;
        Id = id;
        Encoding = encoding;
        BlockSize = blockSize;
    }

    public int BlockSize { get; }

    public string Id { get; }

    /// <summary>The server encoding; slices are read and written in it, so no conversion happens.</summary>
    public string Encoding { get; }

    public static async Task<DumpSnapshot> BeginAsync(NpgsqlDataSource database, CancellationToken ct)
    {
        var conn = await database.OpenConnectionAsync(ct);
        try
        {
            var tx = await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
            await using var cmd = new NpgsqlCommand("SET TRANSACTION READ ONLY; SELECT pg_export_snapshot(), current_setting('server_encoding'), current_setting('block_size')::int", conn, tx);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            return new DumpSnapshot(conn, tx, r.GetString(0), r.GetString(1), r.GetInt32(2));
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Ordinary tables of at least <paramref name="minBytes"/> whose rows pg_dump would dump: not in
    /// the system schemas, not members of an extension, with at least one stored column (generated
    /// columns are left out, as pg_dump does), named plainly enough to pass to pg_dump's
    /// --exclude-table-data as a quoted pattern (other tables stay with pg_dump). Locked ACCESS SHARE.
    /// </summary>
    public async Task<IReadOnlyList<LargeTable>> LargeTablesAsync(long minBytes, CancellationToken ct)
    {
        const string candidates = """
            SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND c.relpersistence IN ('p', 'u')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
              AND n.nspname ~ '^[A-Za-z0-9_]+$' AND c.relname ~ '^[A-Za-z0-9_]+$'
              AND pg_relation_size(c.oid) >= $1
            """;
        var names = new List<string>();
        await using (var cmd = new NpgsqlCommand(candidates, _conn, _tx) { Parameters = { new() { Value = minBytes } } })
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                names.Add(r.GetString(0));
            }
        }
        if (names.Count == 0)
        {
            return [];
        }
        await using (var lockCmd = new NpgsqlCommand($"SET LOCAL lock_timeout = '60s'; LOCK TABLE {string.Join(", ", names.Select(n => "ONLY " + n))} IN ACCESS SHARE MODE", _conn, _tx))
        {
            await lockCmd.ExecuteNonQueryAsync(ct);
        }
        const string details = """
            SELECT n.nspname, c.relname, pg_relation_size(c.oid) / current_setting('block_size')::bigint,
                   array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = ANY($1::regclass[])
            """;
        var tables = new List<LargeTable>();
        await using (var cmd = new NpgsqlCommand(details, _conn, _tx) { Parameters = { new() { Value = names.ToArray() } } })
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                var columns = r.GetFieldValue<string[]>(3);
                if (columns.Length > 0)
                {
                    tables.Add(new LargeTable(r.GetString(0), r.GetString(1), columns, r.GetInt64(2)));
                }
            }
        }
        return tables;
    }

    /// <summary>The dumped database's own properties and the roles and tablespaces it references, as of the snapshot.</summary>
    public Task<DatabaseProperties> PropertiesAsync(CancellationToken ct) => DatabaseProperties.ReadAsync(_conn, _tx, ct);

    public async ValueTask DisposeAsync()
    {
        await _tx.DisposeAsync();
        await _conn.DisposeAsync();
    }
}
