namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// The statements of one scrape, sent together as one prepared batch (one round trip, one
/// implicit transaction). Each is shaped so that its cost does not grow with the number of
/// relations beyond one catalog scan: the statistics views (pg_stat_user_tables evaluates ~20
/// functions per table and groups by table; pg_stat_user_indexes is read twice for top-N and unused)
/// are replaced by the pg_stat_get_* functions they are built from, called only where needed.
/// pg_database_size(), which stats every file of every database, is not here: see
/// <see cref="DatabaseSizeCache"/>.
/// </summary>
public static class MetricsSql
{
    private const string UserSchema = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'";

    /// <summary>
    /// One row: in_recovery, postmaster start, max_connections, cache hit ratio of user tables,
    /// replica replay lag and pause (0 / false on a primary), archiver counters, .ready files, pg_wal bytes, whether archiving fails now.
    /// </summary>
    public const string Instance = $"""
        SELECT pg_is_in_recovery(),
               extract(epoch FROM pg_postmaster_start_time())::float8,
               current_setting('max_connections')::float8,
               (SELECT sum(pg_stat_get_blocks_hit(c.oid))::float8 / nullif(sum(pg_stat_get_blocks_fetched(c.oid)), 0)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'm') AND {UserSchema}),
               CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8,
               CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() <> 'not paused' ELSE false END,
               archived_count::float8, failed_count::float8,
               coalesce(extract(epoch FROM now() - last_archived_time), -1)::float8,
               (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')::float8,
               (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir())::float8,
               (coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false))::int::float8
        FROM pg_stat_archiver
        """;

    /// <summary>
    /// Per database: name, numbackends, commits, rollbacks, blocks read, blocks hit, deadlocks, temp bytes, xid age,
    /// tuples returned, fetched, inserted, updated, deleted.
    /// </summary>
    public const string Databases = """
        SELECT s.datname, s.numbackends::float8, s.xact_commit::float8, s.xact_rollback::float8,
               s.blks_read::float8, s.blks_hit::float8, s.deadlocks::float8, s.temp_bytes::float8, age(d.datfrozenxid)::float8,
               s.tup_returned::float8, s.tup_fetched::float8, s.tup_inserted::float8, s.tup_updated::float8, s.tup_deleted::float8
        FROM pg_stat_database s JOIN pg_database d ON d.oid = s.datid
        WHERE s.datname IS NOT NULL AND d.datallowconn
        """;

    /// <summary>
    /// Client connections by database and state: count, oldest transaction (seconds), and how many
    /// of them are active and waiting on a lock or other event (summed into pgwarden_waiting_queries).
    /// </summary>
    public const string Activity = """
        SELECT coalesce(datname, ''), coalesce(state, 'unknown'), count(*)::float8,
               coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8,
               count(*) FILTER (WHERE state = 'active' AND wait_event IS NOT NULL
                                AND wait_event_type NOT IN ('Client', 'Activity'))::float8
        FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2
        """;

    /// <summary>
    /// The <paramref name="topN"/> largest tables by catalog page count; sizes and statistics are
    /// computed for those rows only (the LIMIT subquery is never flattened). The same values as
    /// pg_stat_user_tables' n_live_tup, n_dead_tup, last_(auto)vacuum and last_(auto)analyze.
    /// </summary>
    public static string Tables(int topN) => $"""
        SELECT top.nspname, top.relname, pg_total_relation_size(top.oid)::float8,
               pg_stat_get_live_tuples(top.oid)::float8, pg_stat_get_dead_tuples(top.oid)::float8,
               extract(epoch FROM now() - greatest(pg_stat_get_last_vacuum_time(top.oid), pg_stat_get_last_autovacuum_time(top.oid)))::float8,
               extract(epoch FROM now() - greatest(pg_stat_get_last_analyze_time(top.oid), pg_stat_get_last_autoanalyze_time(top.oid)))::float8
        FROM (SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'm', 'p') AND {UserSchema}
              ORDER BY c.relpages DESC, c.oid LIMIT {topN}) top
        """;

    /// <summary>
    /// The <paramref name="topN"/> most scanned and <paramref name="topN"/> never scanned user
    /// indexes (pg_stat_user_indexes.idx_scan), with idx_scan computed once per index. An index
    /// always lives in its table's schema, so the schema filter applies to the index's row.
    /// </summary>
    public static string Indexes(int topN) => $"""
        WITH ix AS MATERIALIZED (
            SELECT i.oid, i.relnamespace, i.relname, pg_stat_get_numscans(i.oid) AS scans
            FROM pg_class i JOIN pg_namespace n ON n.oid = i.relnamespace
            WHERE i.relkind = 'i' AND {UserSchema}),
        pick AS ((SELECT * FROM ix ORDER BY scans DESC, oid LIMIT {topN})
                 UNION
                 (SELECT * FROM ix WHERE scans = 0 ORDER BY oid LIMIT {topN}))
        SELECT n.nspname, t.relname, p.relname, p.scans::float8
        FROM pick p JOIN pg_index x ON x.indexrelid = p.oid JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_namespace n ON n.oid = p.relnamespace
        """;

    /// <summary>On a primary: each replica's replay lag in bytes and seconds (no rows on a replica, where pg_current_wal_lsn() fails).</summary>
    public const string Replication = """
        SELECT application_name, state, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8,
               coalesce(extract(epoch FROM replay_lag), 0)::float8
        FROM pg_stat_replication WHERE NOT pg_is_in_recovery()
        """;

    /// <summary>
    /// On a primary: each replication slot — name, type (physical/logical), database ('' for a physical slot),
    /// whether it is active, the WAL it retains (bytes from restart_lsn), wal_status and safe_wal_size (null
    /// without max_slot_wal_keep_size), the columns postgres_exporter's replication_slots collector reads.
    /// </summary>
    public const string Slots = """
        SELECT slot_name, slot_type, coalesce(database, ''), active,
               coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::float8,
               coalesce(wal_status, 'unknown'), safe_wal_size::float8
        FROM pg_replication_slots WHERE NOT pg_is_in_recovery()
        """;

    /// <summary>Size of every database that accepts connections (walks all their files: see <see cref="DatabaseSizeCache"/>).</summary>
    public const string DatabaseSizes = """
        SELECT datname, pg_database_size(oid)::float8 FROM pg_database WHERE datallowconn
        """;
}
