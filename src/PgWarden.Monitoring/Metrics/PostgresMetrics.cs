using Prometheus;

namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// The PostgreSQL metric families. Names and labels follow postgres_exporter's current collectors where
/// they overlap (replication_slots as renamed in its 0.20), so its dashboards and alerts work; PgWarden's
/// own are prefixed pgwarden_. PostgreSQL's cumulative statistics are Prometheus counters (<c>_total</c>,
/// <see cref="ScrapedCounter"/>); everything that can go down is a gauge. README "Metric names" lists
/// what was renamed.
/// </summary>
public sealed class PostgresMetrics
{
    public PostgresMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        ScrapedGauge G(string name, string help, params string[] labels) => new(f.CreateGauge(name, help, labels));
        ScrapedCounter C(string name, string help, params string[] labels) => new(f.CreateCounter(name, help, labels));
        Up = f.CreateGauge("pg_up", "1 if PostgreSQL answered this scrape, 0 if not.");
        ScrapeSeconds = f.CreateGauge("pgwarden_scrape_duration_seconds", "Time the last scrape of PostgreSQL took.");
        InRecovery = f.CreateGauge("pg_in_recovery", "1 on a replica (in recovery), 0 on a primary.");
        StartTime = f.CreateGauge("pg_postmaster_start_time_seconds", "Start time of the postmaster (Unix seconds).");
        MaxConnections = f.CreateGauge("pg_settings_max_connections", "max_connections.");
        DatabaseSize = G("pg_database_size_bytes", "Size of each database.", "datname");
        Backends = G("pg_stat_database_numbackends", "Connections per database.", "datname");
        Commits = C("pg_stat_database_xact_commit_total", "Committed transactions (pg_stat_database.xact_commit).", "datname");
        Rollbacks = C("pg_stat_database_xact_rollback_total", "Rolled back transactions (pg_stat_database.xact_rollback).", "datname");
        BlocksRead = C("pg_stat_database_blks_read_total", "Blocks read from disk (pg_stat_database.blks_read).", "datname");
        BlocksHit = C("pg_stat_database_blks_hit_total", "Blocks found in shared buffers (pg_stat_database.blks_hit).", "datname");
        Deadlocks = C("pg_stat_database_deadlocks_total", "Deadlocks detected (pg_stat_database.deadlocks).", "datname");
        TempBytes = C("pg_stat_database_temp_bytes_total", "Bytes written to temporary files (pg_stat_database.temp_bytes).", "datname");
        TuplesReturned = C("pg_stat_database_tup_returned_total", "Rows returned by queries (pg_stat_database.tup_returned).", "datname");
        TuplesFetched = C("pg_stat_database_tup_fetched_total", "Rows fetched by queries (pg_stat_database.tup_fetched).", "datname");
        TuplesInserted = C("pg_stat_database_tup_inserted_total", "Rows inserted (pg_stat_database.tup_inserted).", "datname");
        TuplesUpdated = C("pg_stat_database_tup_updated_total", "Rows updated (pg_stat_database.tup_updated).", "datname");
        TuplesDeleted = C("pg_stat_database_tup_deleted_total", "Rows deleted (pg_stat_database.tup_deleted).", "datname");
        XidAge = G("pgwarden_database_xid_age", "age(datfrozenxid): transactions until a wraparound vacuum is forced / 2^31.", "datname");
        ActivityCount = G("pg_stat_activity_count", "Client connections by database and state.", "datname", "state");
        MaxTxDuration = G("pg_stat_activity_max_tx_duration", "Age of the oldest transaction by database and state (seconds).", "datname", "state");
        Waiting = f.CreateGauge("pgwarden_waiting_queries", "Active queries waiting on a lock or other event (the runbook's 'waiting queries').");
        CacheHitRatio = f.CreateGauge("pgwarden_cache_hit_ratio", "Heap blocks hit / (hit + read) over the app database's user tables (the runbook wants > 0.95).");
        TableSize = G("pg_stat_user_tables_size_bytes", "Total size (with indexes and TOAST) of the largest tables.", "datname", "schemaname", "relname");
        LiveTuples = G("pg_stat_user_tables_n_live_tup", "Live tuples of the largest tables.", "datname", "schemaname", "relname");
        DeadTuples = G("pg_stat_user_tables_n_dead_tup", "Dead tuples of the largest tables.", "datname", "schemaname", "relname");
        LastVacuum = G("pg_stat_user_tables_last_vacuum_age_seconds", "Seconds since the last (auto)vacuum of the largest tables.", "datname", "schemaname", "relname");
        LastAnalyze = G("pg_stat_user_tables_last_analyze_age_seconds", "Seconds since the last (auto)analyze of the largest tables.", "datname", "schemaname", "relname");
        IndexScans = C("pg_stat_user_indexes_idx_scan_total", "Index scans of the app database's most used and unused indexes (pg_stat_user_indexes.idx_scan).", "datname", "schemaname", "relname", "indexrelname");
        ReplicationLagBytes = G("pg_stat_replication_pg_wal_lsn_diff", "On a primary: bytes each replica has still to replay.", "application_name", "state");
        ReplicationLagSeconds = G("pgwarden_replication_replay_lag_seconds", "On a primary: replay_lag of each replica (seconds).", "application_name");
        ReplicaLagSeconds = f.CreateGauge("pg_replication_lag_seconds", "On a replica: seconds its replay is behind (0 when it has replayed all it received).");
        ReplicaReplayPaused = f.CreateGauge("pgwarden_replica_replay_paused", "On a replica: 1 when WAL replay is paused.");
        SlotActive = G("pg_replication_slots_active", "1 if the replication slot is in use.", "slot_name", "database");
        SlotRetained = G("pg_replication_slots_pg_wal_lsn_diff", "Bytes of WAL the slot retains (current WAL position minus restart_lsn).", "slot_name", "database");
        SlotIsActive = G("pg_replication_slots_slot_is_active", "1 if the replication slot is in use.", "slot_name", "slot_type");
        SlotWalStatus = G("pg_replication_slots_wal_status", "1 for the slot's wal_status (reserved, extended, unreserved, lost).", "slot_name", "slot_type", "wal_status");
        SlotSafeWal = G("pg_replication_slots_safe_wal_size_bytes", "Bytes of WAL that can still be written before the slot is lost (only with max_slot_wal_keep_size).", "slot_name", "slot_type");
        ArchivedCount = C("pg_stat_archiver_archived_count_total", "WAL files archived (pg_stat_archiver.archived_count).");
        ArchiveFailedCount = C("pg_stat_archiver_failed_count_total", "Failed WAL archive attempts (pg_stat_archiver.failed_count).");
        LastArchiveAge = f.CreateGauge("pg_stat_archiver_last_archive_age", "Seconds since the last WAL file was archived (-1 if never).");
        ArchiveBacklog = f.CreateGauge("pgwarden_wal_archive_backlog_files", "WAL files waiting to be archived (.ready in pg_wal/archive_status).");
        ArchiveFailing = f.CreateGauge("pgwarden_wal_archive_failing", "1 while this node's archive_command fails (its last failure is newer than its last success), else 0; every node, replicas included.");
        WalBytes = f.CreateGauge("pgwarden_wal_directory_bytes", "Size of pg_wal.");
    }

    public Gauge Up { get; }
    public Gauge ScrapeSeconds { get; }
    public Gauge InRecovery { get; }
    public Gauge StartTime { get; }
    public Gauge MaxConnections { get; }
    public ScrapedGauge DatabaseSize { get; }
    public ScrapedGauge Backends { get; }
    public ScrapedCounter Commits { get; }
    public ScrapedCounter Rollbacks { get; }
    public ScrapedCounter BlocksRead { get; }
    public ScrapedCounter BlocksHit { get; }
    public ScrapedCounter Deadlocks { get; }
    public ScrapedCounter TempBytes { get; }
    public ScrapedCounter TuplesReturned { get; }
    public ScrapedCounter TuplesFetched { get; }
    public ScrapedCounter TuplesInserted { get; }
    public ScrapedCounter TuplesUpdated { get; }
    public ScrapedCounter TuplesDeleted { get; }
    public ScrapedGauge XidAge { get; }
    public ScrapedGauge ActivityCount { get; }
    public ScrapedGauge MaxTxDuration { get; }
    public Gauge Waiting { get; }
    public Gauge CacheHitRatio { get; }
    public ScrapedGauge TableSize { get; }
    public ScrapedGauge LiveTuples { get; }
    public ScrapedGauge DeadTuples { get; }
    public ScrapedGauge LastVacuum { get; }
    public ScrapedGauge LastAnalyze { get; }
    public ScrapedCounter IndexScans { get; }
    public ScrapedGauge ReplicationLagBytes { get; }
    public ScrapedGauge ReplicationLagSeconds { get; }
    public Gauge ReplicaLagSeconds { get; }
    public Gauge ReplicaReplayPaused { get; }
    public ScrapedGauge SlotActive { get; }
    public ScrapedGauge SlotRetained { get; }
    public ScrapedGauge SlotIsActive { get; }
    public ScrapedGauge SlotWalStatus { get; }
    public ScrapedGauge SlotSafeWal { get; }
    public ScrapedCounter ArchivedCount { get; }
    public ScrapedCounter ArchiveFailedCount { get; }
    public Gauge LastArchiveAge { get; }
    public Gauge ArchiveBacklog { get; }
    public Gauge ArchiveFailing { get; }
    public Gauge WalBytes { get; }

    /// <summary>Every family refilled per scrape: swept after a scrape, cleared when PostgreSQL does not answer.</summary>
    public IEnumerable<IScrapedFamily> Labelled =>
    [
        DatabaseSize, Backends, Commits, Rollbacks, BlocksRead, BlocksHit, Deadlocks, TempBytes, TuplesReturned, TuplesFetched,
        TuplesInserted, TuplesUpdated, TuplesDeleted, XidAge, ActivityCount, MaxTxDuration, TableSize, LiveTuples, DeadTuples,
        LastVacuum, LastAnalyze, IndexScans, ReplicationLagBytes, ReplicationLagSeconds, SlotActive, SlotRetained, SlotIsActive,
        SlotWalStatus, SlotSafeWal, ArchivedCount, ArchiveFailedCount,
    ];
}
