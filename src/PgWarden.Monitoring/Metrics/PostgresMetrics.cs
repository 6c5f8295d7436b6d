using Prometheus;

namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// The PostgreSQL metric families. Names follow postgres_exporter where they overlap, so existing
/// dashboards and alerts keep working; PgWarden's own are prefixed pgwarden_.
/// </summary>
public sealed class PostgresMetrics
{
    public PostgresMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        ScrapedGauge G(string name, string help, params string[] labels) => new(f.CreateGauge(name, help, labels));
        Up = f.CreateGauge("pg_up", "1 if PostgreSQL answered this scrape, 0 if not.");
        ScrapeSeconds = f.CreateGauge("pgwarden_scrape_duration_seconds", "Time the last scrape of PostgreSQL took.");
        InRecovery = f.CreateGauge("pg_in_recovery", "1 on a replica (in recovery), 0 on a primary.");
        StartTime = f.CreateGauge("pg_postmaster_start_time_seconds", "Start time of the postmaster (Unix seconds).");
        MaxConnections = f.CreateGauge("pg_settings_max_connections", "max_connections.");
        DatabaseSize = G("pg_database_size_bytes", "Size of each database.", "datname");
        Backends = G("pg_stat_database_numbackends", "Connections per database.", "datname");
        Commits = G("pg_stat_database_xact_commit", "Committed transactions (cumulative).", "datname");
        Rollbacks = G("pg_stat_database_xact_rollback", "Rolled back transactions (cumulative).", "datname");
        BlocksRead = G("pg_stat_database_blks_read", "Blocks read from disk (cumulative).", "datname");
        BlocksHit = G("pg_stat_database_blks_hit", "Blocks found in shared buffers (cumulative).", "datname");
        Deadlocks = G("pg_stat_database_deadlocks", "Deadlocks (cumulative).", "datname");
        TempBytes = G("pg_stat_database_temp_bytes", "Bytes written to temporary files (cumulative).", "datname");
        XidAge = G("pgwarden_database_xid_age", "age(datfrozenxid): transactions until a wraparound vacuum is forced / 2^31.", "datname");
        ActivityCount = G("pg_stat_activity_count", "Client connections by database and state.", "datname", "state");
        MaxTxDuration = G("pg_stat_activity_max_tx_duration", "Age of the oldest transaction by database and state (seconds).", "datname", "state");
        Waiting = f.CreateGauge("pgwarden_waiting_queries", "Active queries waiting on a lock or other event (the runbook's 'waiting queries').");
        CacheHitRatio = f.CreateGauge("pgwarden_cache_hit_ratio", "Heap blocks hit / (hit + read) over the app database's user tables (the runbook wants > 0.95).");
        TableSize = G("pg_table_size_bytes", "Total size (with indexes and TOAST) of the largest tables.", "datname", "schemaname", "relname");
        LiveTuples = G("pg_stat_user_tables_n_live_tup", "Live tuples of the largest tables.", "datname", "schemaname", "relname");
        DeadTuples = G("pg_stat_user_tables_n_dead_tup", "Dead tuples of the largest tables.", "datname", "schemaname", "relname");
        LastVacuum = G("pg_stat_user_tables_last_vacuum_age_seconds", "Seconds since the last (auto)vacuum of the largest tables.", "datname", "schemaname", "relname");
        LastAnalyze = G("pg_stat_user_tables_last_analyze_age_seconds", "Seconds since the last (auto)analyze of the largest tables.", "datname", "schemaname", "relname");
        IndexScans = G("pg_stat_user_indexes_idx_scan", "Index scans of the app database's most used and unused indexes.", "datname", "schemaname", "relname", "indexrelname");
        ReplicationLagBytes = G("pg_stat_replication_pg_wal_lsn_diff", "On a primary: bytes each replica has still to replay.", "application_name", "state");
        ReplicationLagSeconds = G("pgwarden_replication_replay_lag_seconds", "On a primary: replay_lag of each replica (seconds).", "application_name");
        ReplicaLagSeconds = f.CreateGauge("pg_replication_lag_seconds", "On a replica: seconds its replay is behind (0 when it has replayed all it received).");
        ReplicaReplayPaused = f.CreateGauge("pgwarden_replica_replay_paused", "On a replica: 1 when WAL replay is paused.");
        SlotActive = G("pg_replication_slots_active", "1 if the replication slot is in use.", "slot_name");
        SlotRetained = G("pg_replication_slots_pg_wal_lsn_diff", "Bytes of WAL the slot retains.", "slot_name");
        ArchivedCount = f.CreateGauge("pg_stat_archiver_archived_count", "WAL files archived (cumulative).");
        ArchiveFailedCount = f.CreateGauge("pg_stat_archiver_failed_count", "Failed WAL archive attempts (cumulative).");
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
    public ScrapedGauge Commits { get; }
    public ScrapedGauge Rollbacks { get; }
    public ScrapedGauge BlocksRead { get; }
    public ScrapedGauge BlocksHit { get; }
    public ScrapedGauge Deadlocks { get; }
    public ScrapedGauge TempBytes { get; }
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
    public ScrapedGauge IndexScans { get; }
    public ScrapedGauge ReplicationLagBytes { get; }
    public ScrapedGauge ReplicationLagSeconds { get; }
    public Gauge ReplicaLagSeconds { get; }
    public Gauge ReplicaReplayPaused { get; }
    public ScrapedGauge SlotActive { get; }
    public ScrapedGauge SlotRetained { get; }
    public Gauge ArchivedCount { get; }
    public Gauge ArchiveFailedCount { get; }
    public Gauge LastArchiveAge { get; }
    public Gauge ArchiveBacklog { get; }
    public Gauge ArchiveFailing { get; }
    public Gauge WalBytes { get; }

    public IEnumerable<ScrapedGauge> Labelled =>
    [
        DatabaseSize, Backends, Commits, Rollbacks, BlocksRead, BlocksHit, Deadlocks, TempBytes, XidAge, ActivityCount,
        MaxTxDuration, TableSize, LiveTuples, DeadTuples, LastVacuum, LastAnalyze, IndexScans, ReplicationLagBytes,
        ReplicationLagSeconds, SlotActive, SlotRetained,
    ];
}
