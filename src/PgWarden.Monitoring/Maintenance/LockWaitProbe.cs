using Npgsql;

namespace PgWarden.Monitoring.Maintenance;

/// <summary>
/// Who blocks a backend, read from another session: <c>pg_blocking_pids(pid)</c> (PostgreSQL 9.6+, heavyweight
/// locks including the virtual-transaction locks REINDEX/CREATE INDEX CONCURRENTLY wait on), the waiter's ungranted
/// row in <c>pg_locks</c> and the blockers' <c>pg_stat_activity</c> rows.
/// </summary>
public static class LockWaitProbe
{
    private const string Sql = """
        SELECT b.pid, b.usename::text, b.state, b.query,
               EXTRACT(EPOCH FROM now() - COALESCE(b.xact_start, b.query_start))::float8,
               w.mode,
               CASE WHEN w.relation IS NOT NULL THEN w.relation::regclass::text
                    WHEN w.locktype = 'virtualxid' THEN 'virtual transaction ' || w.virtualxid
                    WHEN w.locktype = 'transactionid' THEN 'transaction ' || w.transactionid::text
                    ELSE w.locktype END,
               (SELECT string_agg(DISTINCT h.mode, ', ') FROM pg_locks h
                 WHERE h.pid = b.pid AND h.granted AND h.locktype = w.locktype
                   AND h.database IS NOT DISTINCT FROM w.database AND h.relation IS NOT DISTINCT FROM w.relation
                   AND h.virtualxid IS NOT DISTINCT FROM w.virtualxid AND h.transactionid IS NOT DISTINCT FROM w.transactionid)
        FROM pg_stat_activity b
        LEFT JOIN LATERAL (SELECT * FROM pg_locks l WHERE l.pid = @pid AND NOT l.granted LIMIT 1) w ON true
        WHERE b.pid = ANY (pg_blocking_pids(@pid))
        ORDER BY b.pid
        """;

    /// <summary>The sessions blocking backend <paramref name="pid"/> now; empty when it waits for no lock.</summary>
    /// <param name="observer">A connection other than the waiter's (the waiter's is busy).</param>
    /// <exception cref="NpgsqlException">The observer's query failed.</exception>
    public static async Task<IReadOnlyList<LockBlocker>> BlockersAsync(NpgsqlConnection observer, int pid, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(Sql, observer);
        cmd.Parameters.AddWithValue("pid", pid);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<LockBlocker>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new LockBlocker(
                reader.GetInt32(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetDouble(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7)));
        }
        return list;
    }
}
