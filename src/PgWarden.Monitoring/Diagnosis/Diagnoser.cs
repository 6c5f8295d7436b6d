using Npgsql;
using PgWarden.Core.Ha;
using PgWarden.Core.Units;

namespace PgWarden.Monitoring.Diagnosis;

/// <summary>
/// The runbook's troubleshooting for replication lag and disk space, as diagnosis: it reads and
/// explains, and never deletes anything (WAL that is not archived, or that a slot needs, is never
/// "cleaned").
/// </summary>
public static class Diagnoser
{
    /// <summary>Why each replica lags: replay paused, not streaming (network / WAL gone), slot retention, or plain load.</summary>
    public static async Task<IReadOnlyList<Finding>> ReplicationLagAsync(NpgsqlConnection primary, IReadOnlyDictionary<string, NodeStatus?> nodes,
        Func<string, CancellationToken, Task<NpgsqlConnection?>> openReplica, CancellationToken ct)
    {
        var findings = new List<Finding>();
        var rows = new Dictionary<string, (string State, long Sent, long Write, long Replay, double? Seconds)>();
        await using (var r = await new NpgsqlCommand("""
            SELECT application_name, state,
                   coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn), 0)::bigint,
                   coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn), 0)::bigint,
                   coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint,
                   extract(epoch FROM replay_lag)::float8
            FROM pg_stat_replication
            """, primary).ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                rows[r.GetString(0)] = (r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.IsDBNull(5) ? null : r.GetDouble(5));
            }
        }
        var walKeep = (string)(await new NpgsqlCommand("SELECT current_setting('wal_keep_size')", primary).ExecuteScalarAsync(ct))!;
        foreach (var (name, status) in nodes.Where(n => n.Value?.Role != NodeRole.Primary).OrderBy(n => n.Key, StringComparer.Ordinal))
        {
            if (status is null || !status.PostgresRunning)
            {
                findings.Add(new Finding(name, "the replica is down or its agent does not answer", "see `pgwarden status` and the agent's log; its slot keeps the WAL it needs meanwhile"));
                continue;
            }
            await using var replica = await openReplica(name, ct);
            var paused = false;
            if (replica is not null)
            {
                paused = (string)(await new NpgsqlCommand("SELECT pg_get_wal_replay_pause_state()::text", replica).ExecuteScalarAsync(ct))! != "not paused";
            }
            else
            {
                findings.Add(new Finding(name, "could not connect to the replica to see whether its replay is paused", null));
            }
            if (paused)
            {
                findings.Add(new Finding(name, "WAL replay is paused on this replica: it receives WAL but does not apply it", "resume it: SELECT pg_wal_replay_resume(); on the replica"));
            }
            if (!rows.TryGetValue(name, out var row))
            {
                findings.Add(new Finding(name, $"not connected to the primary (wal receiver: {status.WalReceiver ?? "none"})",
                    $"a network problem, or the WAL it needs was recycled: with its slot it is kept; without one, wal_keep_size ({walKeep}) is all that is kept — raise it (ALTER SYSTEM SET wal_keep_size = '4GB') or re-clone the replica"));
                continue;
            }
            if (row.Sent > 16 * ByteSize.MB || row.Write - row.Sent > 16 * ByteSize.MB)
            {
                findings.Add(new Finding(name, $"{ByteSize.Human(row.Sent)} not yet sent / {ByteSize.Human(row.Write)} not yet written on the replica", "the network or the replica's disk is the bottleneck"));
            }
            else if (row.Replay > 16 * ByteSize.MB && !paused)
            {
                findings.Add(new Finding(name, $"WAL arrives but replay is {ByteSize.Human(row.Replay)} behind", "the replica's replay is slow (I/O or long queries holding replay with hot_standby_feedback / max_standby_streaming_delay)"));
            }
            else if (!paused)
            {
                findings.Add(new Finding(name, $"streaming ({row.State}), replay {ByteSize.Human(row.Replay)} and {row.Seconds ?? 0:0.0} s behind", null));
            }
        }
        await using (var r = await new NpgsqlCommand("""
            SELECT slot_name, active, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint FROM pg_replication_slots
            WHERE NOT active OR pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) > 1073741824
            """, primary).ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                findings.Add(new Finding($"slot {r.GetString(0)}", $"{(r.GetBoolean(1) ? "active" : "inactive")}, retaining {ByteSize.Human(r.GetInt64(2))} of WAL on the primary",
                    r.GetBoolean(1) ? null : "bring its replica back, or drop the slot if that replica is gone for good (pg_drop_replication_slot) — WAL piles up until then"));
            }
        }
        return findings;
    }

    /// <summary>What fills the disk: pg_wal and why it is kept (archive backlog, slots, wal_keep_size), and the largest relations.</summary>
    public static async Task<IReadOnlyList<Finding>> DiskAsync(NpgsqlConnection conn, string? localDataDir, CancellationToken ct)
    {
        var findings = new List<Finding>();
        await using (var r = await new NpgsqlCommand("""
            SELECT (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir())::bigint,
                   (SELECT count(*) FROM pg_ls_waldir())::bigint,
                   (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')::bigint,
                   current_setting('archive_mode'), current_setting('wal_keep_size'), current_setting('max_wal_size'),
                   (SELECT coalesce(max(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END, restart_lsn)), 0) FROM pg_replication_slots)::bigint,
                   (SELECT sum(pg_database_size(oid)) FROM pg_database)::bigint
            """, conn).ExecuteReaderAsync(ct))
        {
            await r.ReadAsync(ct);
            var walBytes = r.GetInt64(0);
            var ready = r.GetInt64(2);
            findings.Add(new Finding("pg_wal", $"{ByteSize.Human(walBytes)} in {r.GetInt64(1)} files (max_wal_size {r.GetString(5)}, wal_keep_size {r.GetString(4)})", null));
            findings.Add(ready > 0
                ? new Finding("archive backlog", $"{ready} WAL file(s) waiting to be archived (archive_mode {r.GetString(3)})", "these must not be deleted: fix archiving (`pgwarden check daily`) and PostgreSQL removes them itself")
                : new Finding("archive backlog", $"none (archive_mode {r.GetString(3)})", null));
            var slotBytes = r.GetInt64(6);
            findings.Add(new Finding("slots", $"the oldest replication slot retains {ByteSize.Human(slotBytes)} of WAL",
                slotBytes > ByteSize.GB ? "a lagging or absent replica holds WAL: `pgwarden diagnose replication-lag`" : null));
            findings.Add(new Finding("databases", $"{ByteSize.Human(r.GetInt64(7))} in all databases", null));
        }
        await using (var r = await new NpgsqlCommand("""
            SELECT format('%I.%I', n.nspname, c.relname), pg_total_relation_size(c.oid)::bigint,
                   coalesce(s.n_dead_tup, 0)::bigint
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            ORDER BY c.relpages DESC LIMIT 5
            """, conn).ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                findings.Add(new Finding($"table {r.GetString(0)}", $"{ByteSize.Human(r.GetInt64(1))}, {r.GetInt64(2)} dead rows",
                    r.GetInt64(2) > 100_000 ? "VACUUM makes dead rows reusable without locking (`pgwarden vacuum --table`); VACUUM FULL returns space to the OS but locks the table" : null));
            }
        }
        if (localDataDir is not null && Directory.Exists(localDataDir))
        {
            var drive = new DriveInfo(localDataDir);
            findings.Add(new Finding("filesystem", $"{ByteSize.Human(drive.AvailableFreeSpace)} free of {ByteSize.Human(drive.TotalSize)} where the primary's data directory is", null));
        }
        findings.Add(new Finding("safe to clean", "nothing by hand: PostgreSQL recycles WAL after checkpoints once it is archived and no slot needs it; pg_archivecleanup on a live pg_wal can break recovery", null));
        return findings;
    }
}
