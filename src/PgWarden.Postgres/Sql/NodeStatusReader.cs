using Npgsql;
using PgWarden.Core.Ha;

namespace PgWarden.Postgres.Sql;

/// <summary>Reads role, LSNs, timeline, replication and slots of the local PostgreSQL (the runbook's "Verify Replication").</summary>
public static class NodeStatusReader
{
    /// <param name="Timeline">The timeline the node is on now: a primary's from its current WAL file name (its control file shows the new one only after the first checkpoint), a replica's the newer of its last restartpoint's and the one it receives.</param>
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

        /// <summary>The timeline of the last checkpoint (restartpoint on a replica), from pg_control.</summary>
        public long CheckpointTimeline { get; init; }

        /// <summary>The hot-standby settings the server runs with now.</summary>
        public HotStandbySettings? HotStandby { get; init; }

        /// <summary>pg_get_wal_replay_pause_state() on a replica ("not paused", "pause requested", "paused").</summary>
        public string? ReplayPauseState { get; init; }

        /// <summary>Parameters changed in the configuration files that wait for a restart (pg_settings.pending_restart), by name.</summary>
        public IReadOnlyList<string> PendingRestart { get; init; } = [];

        /// <summary>Lines of the configuration files the server rejected at its last reload (pg_file_settings.error), as "name: error".</summary>
        public IReadOnlyList<string> ConfigErrors { get; init; } = [];

        /// <summary>When the server last loaded its configuration files (pg_conf_load_time()).</summary>
        public DateTimeOffset? ConfLoadTime { get; init; }

        /// <summary>When the running postmaster started (pg_postmaster_start_time()).</summary>
        public DateTimeOffset? StartedAt { get; init; }

        /// <summary>
        /// On a replica: what its startup process waits for (pg_stat_activity.wait_event of backend_type
        /// "startup"), "" while it replays (no wait), null on a primary.
        /// </summary>
        public string? StartupWaitEvent { get; init; }

        /// <summary>
        /// A replica that has received nothing by streaming since it started, whose startup process is not
        /// waiting for WAL from any source: it may still be replaying WAL already in its pg_wal (crash recovery
        /// of a standby), so its replay position understates what it holds. Waiting for WAL (PostgreSQL 15's
        /// RecoveryRetrieveRetryInterval, RecoveryWalStream) means it read all it had; any other state, or a
        /// wait event another version names differently, counts as still replaying (the safe side).
        /// </summary>
        /// <summary>
        /// On a replica: the PID of its startup process (pg_stat_activity, backend_type "startup"). A new one
        /// under the same postmaster means the postmaster reinitialised after a backend crash
        /// (restart_after_crash) and replays its own pg_wal again.
        /// </summary>
        public int? StartupPid { get; init; }

        public bool MayStillReplayLocalWal => InRecovery && ReceiveLsn is null && StartupWaitEvent is not ("RecoveryRetrieveRetryInterval" or "RecoveryWalStream");
    }

    public static async Task<Snapshot> ReadAsync(NpgsqlDataSource source, CancellationToken ct)
    {
        await using var conn = await source.OpenConnectionAsync(ct);
        bool inRecovery;
        long timeline;
        string? current = null, receive = null, replay = null, receiverStatus = null, senderHost = null;
        double? lagSeconds = null;
        string? archiveFailure;
        long checkpointTimeline;
        HotStandbySettings hotStandby;
        string? pauseState;
        string[] pendingRestart, configErrors;
        DateTimeOffset? confLoadTime, startedAt;
        string? startupWait;
        int? startupPid;
        await using (var cmd = new NpgsqlCommand("""
            SELECT pg_is_in_recovery(),
                   CASE WHEN NOT pg_is_in_recovery() THEN ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint
                        -- A replica: the newest of its restartpoint's timeline, the one it receives, and the
                        -- newest timeline with a WAL file for the segment it replays (PostgreSQL 15 has no
                        -- function for the replay timeline; a replica stuck on an old timeline never gets one).
                        ELSE GREATEST((SELECT timeline_id FROM pg_control_checkpoint())::bigint,
                                      (SELECT max(('x' || substr(f.name, 1, 8))::bit(32)::bigint)
                                         FROM pg_ls_waldir() f,
                                              (SELECT floor(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0') / s.size) AS segno,
                                                      4294967296 / s.size AS per_log
                                                 FROM (SELECT setting::numeric AS size FROM pg_settings WHERE name = 'wal_segment_size') s) r
                                        WHERE f.name ~ '^[0-9A-F]{24}$'
                                          AND substr(f.name, 9) = lpad(upper(to_hex(floor(r.segno / r.per_log)::bigint)), 8, '0')
                                                               || lpad(upper(to_hex((r.segno % r.per_log)::bigint)), 8, '0'))) END,
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
                    WHERE last_failed_time > COALESCE(last_archived_time, '-infinity')),
                   (SELECT timeline_id FROM pg_control_checkpoint())::bigint,
                   current_setting('max_connections')::int, current_setting('max_worker_processes')::int,
                   current_setting('max_wal_senders')::int, current_setting('max_prepared_transactions')::int,
                   current_setting('max_locks_per_transaction')::int,
                   CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END,
                   (SELECT array_agg(name::text ORDER BY name) FROM pg_settings WHERE pending_restart),
                   -- "setting could not be applied" is how pg_file_settings marks a pending restart, not an error.
                   (SELECT array_agg(format('%s: %s', COALESCE(name, sourcefile || ':' || sourceline), error) ORDER BY seqno)
                      FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'),
                   pg_conf_load_time(),
                   pg_postmaster_start_time(),
                   CASE WHEN pg_is_in_recovery() THEN (SELECT COALESCE(wait_event, '') FROM pg_stat_activity WHERE backend_type = 'startup' LIMIT 1) END,
                   CASE WHEN pg_is_in_recovery() THEN (SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup' LIMIT 1) END
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
            checkpointTimeline = r.GetInt64(10);
            hotStandby = new HotStandbySettings(r.GetInt32(11), r.GetInt32(12), r.GetInt32(13), r.GetInt32(14), r.GetInt32(15));
            pauseState = r.IsDBNull(16) ? null : r.GetString(16);
            pendingRestart = r.IsDBNull(17) ? [] : r.GetFieldValue<string[]>(17);
            configErrors = r.IsDBNull(18) ? [] : r.GetFieldValue<string[]>(18);
            confLoadTime = r.IsDBNull(19) ? null : r.GetFieldValue<DateTimeOffset>(19);
            startedAt = r.IsDBNull(20) ? null : r.GetFieldValue<DateTimeOffset>(20);
            startupWait = r.IsDBNull(21) ? null : r.GetString(21);
            startupPid = r.IsDBNull(22) ? null : r.GetInt32(22);
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
        return new Snapshot(inRecovery, timeline, current, receive, replay, lagSeconds, receiverStatus, senderHost, replicas, slots)
        {
            ArchiveFailure = archiveFailure,
            CheckpointTimeline = checkpointTimeline,
            HotStandby = hotStandby,
            ReplayPauseState = pauseState,
            PendingRestart = pendingRestart,
            ConfigErrors = configErrors,
            ConfLoadTime = confLoadTime,
            StartedAt = startedAt,
            StartupWaitEvent = startupWait,
            StartupPid = startupPid,
        };
    }
}
