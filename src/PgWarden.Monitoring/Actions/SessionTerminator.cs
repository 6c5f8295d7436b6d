using Npgsql;
using PgWarden.Core.Errors;

namespace PgWarden.Monitoring.Actions;

/// <summary>
/// The runbook's "kill idle / long-running connections", made safe: only client backends are ever
/// touched — never walsenders, autovacuum or background workers, never the caller's own session,
/// never a session of the replication role — and termination re-checks every condition in the
/// same statement that terminates, so a session that became busy (or idle) meanwhile is spared.
/// </summary>
public static class SessionTerminator
{
    // Every value is a parameter; the same predicate selects and re-checks before terminating.
    private const string Conditions = """
        a.backend_type = 'client backend'
          AND a.pid <> pg_backend_pid()
          AND a.usename IS DISTINCT FROM @replication_role
          AND (@database::text IS NULL OR a.datname = @database::text)
          AND (@user::text IS NULL OR a.usename = @user::text)
          AND CASE @kind
                  WHEN 'idle' THEN a.state = 'idle' AND now() - a.state_change > @older_than
                  WHEN 'long-running' THEN a.state = 'active' AND now() - a.query_start > @older_than
                  ELSE false
              END
        """;

    public const int MaxSessions = 10_000;

    public static async Task<IReadOnlyList<SessionInfo>> FindAsync(NpgsqlConnection conn, SessionFilter filter, CancellationToken ct)
    {
        const string sql = $"""
            SELECT a.pid, a.usename::text, a.datname::text, a.application_name, host(a.client_addr), a.state,
                   extract(epoch FROM now() - CASE WHEN a.state = 'idle' THEN a.state_change ELSE a.query_start END)::float8,
                   left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 80)
            FROM pg_stat_activity a
            WHERE {Conditions}
            ORDER BY a.pid
            LIMIT {MaxSessionsText}
            """;
        await using var cmd = Command(sql, conn, filter);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var sessions = new List<SessionInfo>();
        while (await reader.ReadAsync(ct))
        {
            sessions.Add(new SessionInfo(
                reader.GetInt32(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? 0 : reader.GetDouble(6),
                reader.GetString(7)));
        }
        return sessions;
    }

    /// <summary>Terminates those of <paramref name="pids"/> that still match the filter; returns the PIDs terminated.</summary>
    public static async Task<IReadOnlyList<int>> TerminateAsync(NpgsqlConnection conn, SessionFilter filter, IReadOnlyCollection<int> pids, CancellationToken ct)
    {
        if (pids.Count == 0)
        {
            return [];
        }
        if (pids.Count > MaxSessions)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"refusing to terminate more than {MaxSessions} sessions at once");
        }
        // The materialized CTE filters first; pg_terminate_backend runs only on rows that still match
        // (a plain WHERE could evaluate the cheap function before the other conditions).
        const string sql = $"""
            WITH targets AS MATERIALIZED (
                SELECT a.pid
                FROM pg_stat_activity a
                WHERE a.pid = ANY (@pids) AND {Conditions}
            )
            SELECT pid, pg_terminate_backend(pid) FROM targets
            """;
        await using var cmd = Command(sql, conn, filter);
        cmd.Parameters.AddWithValue("pids", pids.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var done = new List<int>();
        while (await reader.ReadAsync(ct))
        {
            if (reader.GetBoolean(1))
            {
                done.Add(reader.GetInt32(0));
            }
        }
        return done;
    }

    private const string MaxSessionsText = "10000";

    private static NpgsqlCommand Command(string sql, NpgsqlConnection conn, SessionFilter filter)
    {
        var cmd = new NpgsqlCommand(sql, conn);
        cmd.Parameters.AddWithValue("replication_role", filter.ReplicationRole);
        cmd.Parameters.AddWithValue("database", NpgsqlTypes.NpgsqlDbType.Text, (object?)filter.Database ?? DBNull.Value);
        cmd.Parameters.AddWithValue("user", NpgsqlTypes.NpgsqlDbType.Text, (object?)filter.User ?? DBNull.Value);
        cmd.Parameters.AddWithValue("kind", filter.Kind == SessionKind.Idle ? "idle" : "long-running");
        cmd.Parameters.AddWithValue("older_than", filter.OlderThan);
        return cmd;
    }
}
