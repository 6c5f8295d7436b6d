using Npgsql;
using PgWarden.Core.Ha;

namespace PgWarden.Postgres.Sql;

/// <summary>Reads role, LSNs, timeline, replication and slots of the local PostgreSQL (the runbook's "Verify Replication").</summary>
public static class NodeStatusReader
{
    public sealed record Snapshot(
        bool InRecovery,
        long Timeline,
        string? CurrentLsn,
        string? ReceiveLsn,
        string? ReplayLsn,
        double? ReplayLagSeconds,
        string? WalReceiverStatus,
        string? SenderHost,
        IReadOnlyList<ReplicaStatus> Replicas,
        IReadOnlyList<SlotStatus> Slots)
    {
        /// <summary>
        /// On any node whose archive_command fails now (its last failure is newer than its last success):
        /// what fails since when. Replicas archive too (archive_mode = always), so a stuck archiver there counts as well.
        /// </summary>
        public string? ArchiveFailure { get; init; }
    }

    public static async Task<Snapshot> ReadAsync(NpgsqlDataSource source, CancellationToken ct)
    {
        await using var conn = await source.OpenConnectionAsync(ct);
        bool inRecovery;
        long timeline;
        string? current = null, receive = null, replay = null, receiverStatus = null, senderHost = null;
        double? lagSeconds = null;
        string? archiveFailure;
        await using (var cmd = new NpgsqlCommand("""
            SELECT pg_is_in_recovery(),
                   (SELECT timeline_id FROM pg_control_checkpoint())::bigint,
                   CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END,
                   CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()::text END,
                   CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END,
                   CASE WHEN NOT pg_is_in_recovery() THEN NULL
                        WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                        ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END,
                   (SELECT status FROM pg_stat_wal_receiver LIMIT 1),
                   (SELECT sender_host FROM pg_stat_wal_receiver LIMIT 1),
                   (SELECT received_tli FROM pg_stat_wal_receiver LIMIT 1)::bigint,
                   (SELECT format('archive_command fails for %s since %s (%s failures in all)', last_failed_wal,
                                  to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), failed_count)
                    FROM pg_stat_archiver
                    WHERE last_failed_time > COALESCE(last_archived_time, '-infinity'))
            """, conn))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            await r.ReadAsync(ct);
            inRecovery = r.GetBoolean(0);
            timeline = r.GetInt64(1);
            current = r.IsDBNull(2) ? null : r.GetString(2);
            receive = r.IsDBNull(3) ? null : r.GetString(3);
            replay = r.IsDBNull(4) ? null : r.GetString(4);
            lagSeconds = r.IsDBNull(5) ? null : r.GetDouble(5);
            receiverStatus = r.IsDBNull(6) ? null : r.GetString(6);
            senderHost = r.IsDBNull(7) ? null : r.GetString(7);
            if (!r.IsDBNull(8))
            {
                timeline = Math.Max(timeline, r.GetInt64(8));
            }
            archiveFailure = r.IsDBNull(9) ? null : r.GetString(9);
        }
        var replicas = new List<ReplicaStatus>();
        var slots = new List<SlotStatus>();
        if (!inRecovery)
        {
            await using (var cmd = new NpgsqlCommand("""
                SELECT application_name, client_addr::text, state, sync_state,
                       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn), 0)::bigint,
                       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn), 0)::bigint,
                       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), 0)::bigint,
                       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint,
                       EXTRACT(EPOCH FROM replay_lag)::float8
                FROM pg_stat_replication ORDER BY application_name
                """, conn))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                while (await r.ReadAsync(ct))
                {
                    replicas.Add(new ReplicaStatus(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2), r.GetString(3),
                        r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.IsDBNull(8) ? 0 : r.GetDouble(8)));
                }
            }
            await using (var cmd = new NpgsqlCommand("""
                SELECT slot_name, active, restart_lsn::text,
                       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint
                FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name
                """, conn))
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                while (await r.ReadAsync(ct))
                {
                    slots.Add(new SlotStatus(r.GetString(0), r.GetBoolean(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3)));
                }
            }
        }
        return new Snapshot(inRecovery, timeline, current, receive, replay, lagSeconds, receiverStatus, senderHost, replicas, slots) { ArchiveFailure = archiveFailure };
    }
}
