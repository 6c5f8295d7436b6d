namespace PgWarden.Monitoring.Reports;

/// <summary>The SQL behind <see cref="ReportCatalog"/>. Values are parameters (@limit, @older_than), never concatenated.</summary>
internal static class ReportSql
{
    private const string QueryHead = "left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 120)";

    public const string Sizes = """
        SELECT kind, name, total_bytes, table_bytes, index_bytes, toast_bytes
        FROM (
            SELECT 0 AS ord, 'database' AS kind, format('%I', current_database()) AS name,
                   pg_database_size(current_database()) AS total_bytes,
                   NULL::bigint AS table_bytes, NULL::bigint AS index_bytes, NULL::bigint AS toast_bytes
            UNION ALL
            (SELECT 1, 'table', format('%I.%I', n.nspname, c.relname),
                    pg_total_relation_size(c.oid),
                    pg_table_size(c.oid) - coalesce(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0),
                    pg_indexes_size(c.oid),
                    coalesce(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0)
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\_toast%'
             ORDER BY pg_total_relation_size(c.oid) DESC, 3
             LIMIT @limit)
        ) s
        ORDER BY ord, total_bytes DESC, name
        """;

    public const string Connections = """
        WITH a AS (
            SELECT state, datname, usename FROM pg_stat_activity WHERE backend_type = 'client backend'
        ), m AS (
            SELECT current_setting('max_connections')::int AS max_conn
        )
        SELECT "group", name, connections, round(100.0 * connections / m.max_conn, 1) AS percent_of_max
        FROM (
            SELECT 0 AS ord, 'total' AS "group", 'client backends' AS name, count(*) AS connections FROM a
            UNION ALL
            SELECT 1, 'limit', 'max_connections', (SELECT max_conn FROM m)
            UNION ALL
            SELECT 2, 'state', coalesce(state, 'unknown'), count(*) FROM a GROUP BY state
            UNION ALL
            (SELECT 3, 'database/user', format('%s/%s', coalesce(datname, '-'), coalesce(usename, '-')), count(*)
             FROM a GROUP BY datname, usename ORDER BY count(*) DESC, 3 LIMIT @limit)
        ) x, m
        ORDER BY ord, connections DESC, name
        """;

    public const string Waiting = $"""
        SELECT pid, usename AS "user", datname AS database, backend_type, state, wait_event_type, wait_event,
               round(extract(epoch FROM now() - coalesce(query_start, backend_start))::numeric, 1) AS running_s,
               array_to_string(pg_blocking_pids(pid), ',') AS blocked_by,
               {QueryHead} AS query
        FROM pg_stat_activity
        WHERE wait_event IS NOT NULL
          AND wait_event_type NOT IN ('Activity', 'Client')
          AND backend_type IN ('client backend', 'autovacuum worker', 'parallel worker')
          AND pid <> pg_backend_pid()
        ORDER BY query_start NULLS LAST, pid
        LIMIT @limit
        """;

    public const string CacheHit = """
        SELECT scope, name, heap_hit_pct, index_hit_pct, heap_blks_read, heap_blks_hit, idx_blks_read, idx_blks_hit
        FROM (
            SELECT 0 AS ord, 'database' AS scope, format('%I', current_database()) AS name,
                   round(100.0 * sum(heap_blks_hit) / nullif(sum(heap_blks_hit + heap_blks_read), 0), 2) AS heap_hit_pct,
                   round(100.0 * sum(idx_blks_hit) / nullif(sum(coalesce(idx_blks_hit, 0) + coalesce(idx_blks_read, 0)), 0), 2) AS index_hit_pct,
                   coalesce(sum(heap_blks_read), 0)::bigint AS heap_blks_read, coalesce(sum(heap_blks_hit), 0)::bigint AS heap_blks_hit,
                   coalesce(sum(idx_blks_read), 0)::bigint AS idx_blks_read, coalesce(sum(idx_blks_hit), 0)::bigint AS idx_blks_hit
            FROM pg_statio_user_tables
            UNION ALL
            (SELECT 1, 'table', format('%I.%I', schemaname, relname),
                    round(100.0 * heap_blks_hit / nullif(heap_blks_hit + heap_blks_read, 0), 2),
                    round(100.0 * idx_blks_hit / nullif(coalesce(idx_blks_hit, 0) + coalesce(idx_blks_read, 0), 0), 2),
                    heap_blks_read, heap_blks_hit, coalesce(idx_blks_read, 0), coalesce(idx_blks_hit, 0)
             FROM pg_statio_user_tables
             ORDER BY heap_blks_read + coalesce(idx_blks_read, 0) DESC, heap_blks_hit DESC, 3
             LIMIT @limit)
        ) s
        ORDER BY ord, heap_blks_read + idx_blks_read DESC, heap_blks_hit DESC, name
        """;

    public const string IndexUsage = """
        SELECT format('%I.%I', s.schemaname, s.relname) AS "table",
               format('%I.%I', s.schemaname, s.indexrelname) AS index,
               s.idx_scan, s.idx_tup_read, s.idx_tup_fetch,
               pg_relation_size(s.indexrelid) AS index_bytes
        FROM pg_stat_user_indexes s
        ORDER BY s.idx_scan DESC, 1, 2
        LIMIT @limit
        """;

    public const string SlowQueries = """
        SELECT d.datname AS database, r.rolname AS "user", s.calls,
               round(s.mean_exec_time::numeric, 2) AS mean_ms,
               round(s.total_exec_time::numeric, 2) AS total_ms,
               round(s.max_exec_time::numeric, 2) AS max_ms,
               round((100.0 * s.total_exec_time / nullif(sum(s.total_exec_time) OVER (), 0))::numeric, 1) AS pct_total,
               s.rows,
               left(regexp_replace(s.query, '\s+', ' ', 'g'), 120) AS query
        FROM pg_stat_statements s
        LEFT JOIN pg_database d ON d.oid = s.dbid
        LEFT JOIN pg_roles r ON r.oid = s.userid
        ORDER BY s.mean_exec_time DESC, s.total_exec_time DESC
        LIMIT @limit
        """;

    public const string Vacuum = """
        SELECT format('%I.%I', s.schemaname, s.relname) AS "table",
               s.n_live_tup, s.n_dead_tup,
               round(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 1) AS dead_pct,
               s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
               s.vacuum_count, s.autovacuum_count,
               CASE WHEN c.reloptions @> ARRAY['autovacuum_enabled=false'] THEN 'off' ELSE 'on' END AS autovacuum
        FROM pg_stat_user_tables s
        JOIN pg_class c ON c.oid = s.relid
        ORDER BY s.n_dead_tup DESC, s.last_autovacuum DESC NULLS LAST, 1
        LIMIT @limit
        """;

    public const string ReplicationPrimary = """
        SELECT r.application_name AS replica, host(r.client_addr) AS client, r.state, r.sync_state,
               r.sent_lsn::text AS sent_lsn, r.replay_lsn::text AS replay_lsn,
               pg_wal_lsn_diff(pg_current_wal_lsn(), r.sent_lsn)::bigint AS pending_bytes,
               pg_wal_lsn_diff(pg_current_wal_lsn(), r.write_lsn)::bigint AS write_lag_bytes,
               pg_wal_lsn_diff(pg_current_wal_lsn(), r.flush_lsn)::bigint AS flush_lag_bytes,
               pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint AS replay_lag_bytes,
               round(extract(epoch FROM r.replay_lag)::numeric, 3) AS replay_lag_s,
               sl.slot_name AS slot
        FROM pg_stat_replication r
        LEFT JOIN pg_replication_slots sl ON sl.active_pid = r.pid
        ORDER BY r.application_name, r.pid
        LIMIT @limit
        """;

    public const string ReplicationReplica = """
        SELECT w.sender_host AS upstream, w.status AS wal_receiver,
               pg_last_wal_receive_lsn()::text AS receive_lsn, pg_last_wal_replay_lsn()::text AS replay_lsn,
               pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS replay_pending_bytes,
               pg_get_wal_replay_pause_state() AS replay_pause_state,
               pg_get_wal_replay_pause_state() <> 'not paused' AS replay_paused,
               pg_last_xact_replay_timestamp() AS last_replayed_xact,
               CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                    ELSE round(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::numeric, 3) END AS lag_s
        FROM (SELECT 1) one
        LEFT JOIN pg_stat_wal_receiver w ON true
        LIMIT 1
        """;

    public const string UnusedIndexes = """
        SELECT format('%I.%I', s.schemaname, s.relname) AS "table",
               format('%I.%I', s.schemaname, s.indexrelname) AS index,
               s.idx_scan,
               pg_relation_size(s.indexrelid) AS index_bytes,
               pg_get_indexdef(s.indexrelid) AS definition
        FROM pg_stat_user_indexes s
        JOIN pg_index i ON i.indexrelid = s.indexrelid
        WHERE s.idx_scan = 0
          AND i.indisvalid
          AND NOT i.indisunique
          AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid)
        ORDER BY pg_relation_size(s.indexrelid) DESC, 2
        LIMIT @limit
        """;

    public const string DuplicateIndexes = """
        WITH ix AS (
            SELECT i.indexrelid, i.indrelid, c.relam, c.relnamespace, i.indnkeyatts,
                   (string_to_array(i.indkey::text, ' '))[1:i.indnkeyatts] AS keys,
                   i.indkey::text AS allcols,
                   i.indclass::text AS opclasses,
                   coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
                   coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
                   i.indisunique OR i.indisprimary OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) AS enforces,
                   i.indisprimary
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE i.indisvalid
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\_toast%'
        ), dup AS (
            -- Identical keys: keep the index enforcing a constraint, else the oldest; report the others.
            SELECT a.indexrelid, 'duplicate' AS kind, k.indexrelid AS other
            FROM ix a
            JOIN LATERAL (
                SELECT b.indexrelid FROM ix b
                WHERE b.indrelid = a.indrelid AND b.relam = a.relam AND b.allcols = a.allcols
                  AND b.opclasses = a.opclasses AND b.exprs = a.exprs AND b.pred = a.pred
                ORDER BY b.indisprimary DESC, b.enforces DESC, b.indexrelid
                LIMIT 1
            ) k ON k.indexrelid <> a.indexrelid
        ), prefix AS (
            -- A plain btree index whose key columns lead another btree index on the same table.
            SELECT DISTINCT ON (a.indexrelid) a.indexrelid, 'redundant prefix' AS kind, b.indexrelid AS other
            FROM ix a
            JOIN ix b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid AND b.relam = a.relam
            JOIN pg_am am ON am.oid = a.relam AND am.amname = 'btree'
            WHERE NOT a.enforces AND a.exprs = '' AND a.pred = '' AND b.pred = ''
              AND a.indnkeyatts < b.indnkeyatts
              AND b.keys[1:a.indnkeyatts] = a.keys
              AND (string_to_array(b.opclasses, ' '))[1:a.indnkeyatts] = string_to_array(a.opclasses, ' ')
              AND NOT a.indexrelid IN (SELECT indexrelid FROM dup)
            ORDER BY a.indexrelid, b.indnkeyatts, b.indexrelid
        )
        SELECT format('%I.%I', n.nspname, t.relname) AS "table",
               format('%I.%I', n.nspname, c.relname) AS index,
               f.kind,
               format('%I.%I', n.nspname, o.relname) AS same_as,
               pg_relation_size(f.indexrelid) AS index_bytes,
               pg_get_indexdef(f.indexrelid) AS definition
        FROM (SELECT * FROM dup UNION ALL SELECT * FROM prefix) f
        JOIN pg_class c ON c.oid = f.indexrelid
        JOIN pg_index i ON i.indexrelid = f.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_class o ON o.oid = f.other
        JOIN pg_namespace n ON n.oid = c.relnamespace
        ORDER BY pg_relation_size(f.indexrelid) DESC, 2
        LIMIT @limit
        """;

    public const string InvalidIndexes = """
        SELECT format('%I.%I', n.nspname, t.relname) AS "table",
               format('%I.%I', n.nspname, c.relname) AS index,
               i.indisvalid AS valid, i.indisready AS ready,
               pg_relation_size(c.oid) AS index_bytes,
               pg_get_indexdef(c.oid) AS definition
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT i.indisvalid OR NOT i.indisready
        ORDER BY 2
        LIMIT @limit
        """;

    // Table: expected = ceil(live rows x aligned tuple width / usable page space) pages, where the
    // tuple width is the 24-byte header + sum(pg_stats.avg_width), aligned to 8, + a 4-byte line
    // pointer, and the usable space is (block_size - 24) x fillfactor. Without statistics, the dead
    // tuple ratio of the heap size. Btree index (plain columns, not partial): 8-byte index tuple
    // header + key widths, aligned, + line pointer, (block_size - 40) x fillfactor (default 90), + the
    // metapage.
    public const string Bloat = """
        WITH bs AS (SELECT current_setting('block_size')::numeric AS bs),
        t AS (
            SELECT s.relid, format('%I.%I', s.schemaname, s.relname) AS name, s.n_live_tup, s.n_dead_tup,
                   pg_relation_size(s.relid) AS bytes,
                   coalesce((regexp_match(array_to_string(c.reloptions, ','), 'fillfactor=(\d+)'))[1]::numeric, 100) AS ff,
                   (SELECT sum(st.avg_width) FROM pg_stats st
                    WHERE st.schemaname = s.schemaname AND st.tablename = s.relname AND NOT st.inherited) AS width
            FROM pg_stat_user_tables s
            JOIN pg_class c ON c.oid = s.relid
        ), te AS (
            SELECT 'table' AS kind, name, name AS "table", bytes,
                   CASE WHEN width IS NULL
                        THEN round(bytes::numeric * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0))
                        ELSE greatest(bytes::numeric - ceil(n_live_tup * (ceil((24 + width) / 8.0) * 8 + 4) / ((bs.bs - 24) * ff / 100)) * bs.bs, 0)
                   END AS wasted,
                   CASE WHEN width IS NULL THEN 'dead tuples' ELSE 'live rows x width' END AS method
            FROM t, bs
        ), i AS (
            SELECT format('%I.%I', s.schemaname, ci.relname) AS name, format('%I.%I', s.schemaname, s.relname) AS "table",
                   s.n_live_tup, pg_relation_size(x.indexrelid) AS bytes,
                   coalesce((regexp_match(array_to_string(ci.reloptions, ','), 'fillfactor=(\d+)'))[1]::numeric, 90) AS ff,
                   (SELECT CASE WHEN count(*) = x.indnatts THEN sum(st.avg_width) END
                    FROM pg_attribute a
                    JOIN pg_stats st ON st.schemaname = s.schemaname AND st.tablename = s.relname
                                    AND st.attname = a.attname AND NOT st.inherited
                    WHERE a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey::int2[])) AS width
            FROM pg_index x
            JOIN pg_class ci ON ci.oid = x.indexrelid
            JOIN pg_am am ON am.oid = ci.relam AND am.amname = 'btree'
            JOIN pg_stat_user_tables s ON s.relid = x.indrelid
            WHERE x.indexprs IS NULL AND x.indpred IS NULL AND x.indisvalid
        ), ie AS (
            SELECT 'index' AS kind, name, "table", bytes,
                   greatest(bytes::numeric - (ceil(n_live_tup * (ceil((8 + width) / 8.0) * 8 + 4) / ((bs.bs - 40) * ff / 100)) + 1) * bs.bs, 0) AS wasted,
                   'live rows x key width' AS method
            FROM i, bs
            WHERE width IS NOT NULL
        )
        SELECT kind, name, "table", bytes, wasted::bigint AS est_wasted_bytes,
               round((100.0 * wasted / nullif(bytes, 0))::numeric, 1) AS wasted_pct, method
        FROM (SELECT * FROM te UNION ALL SELECT * FROM ie) b
        WHERE bytes >= 1048576 AND wasted >= 0.2 * bytes
        ORDER BY wasted DESC, name
        LIMIT @limit
        """;

    public const string LongRunning = $"""
        SELECT pid, usename AS "user", datname AS database, application_name AS application, host(client_addr) AS client,
               round(extract(epoch FROM now() - query_start)::numeric, 1) AS running_s,
               wait_event_type, wait_event,
               {QueryHead} AS query
        FROM pg_stat_activity
        WHERE state = 'active'
          AND backend_type = 'client backend'
          AND pid <> pg_backend_pid()
          AND now() - query_start > @older_than
        ORDER BY query_start, pid
        LIMIT @limit
        """;

    public const string Blocking = """
        SELECT w.pid AS blocked_pid, w.usename AS blocked_user,
               round(extract(epoch FROM now() - w.query_start)::numeric, 1) AS blocked_s,
               (SELECT string_agg(DISTINCT l.mode, ',') FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted) AS lock_mode,
               (SELECT string_agg(DISTINCT coalesce(l.relation::regclass::text, l.locktype), ',') FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted) AS locked_object,
               left(regexp_replace(coalesce(w.query, ''), '\s+', ' ', 'g'), 120) AS blocked_query,
               b.pid AS blocking_pid, b.usename AS blocking_user, b.state AS blocking_state,
               round(extract(epoch FROM now() - coalesce(b.xact_start, b.query_start))::numeric, 1) AS blocking_xact_s,
               left(regexp_replace(coalesce(b.query, ''), '\s+', ' ', 'g'), 120) AS blocking_query
        FROM pg_stat_activity w
        CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid)
        JOIN pg_stat_activity b ON b.pid = bp.pid
        WHERE w.wait_event_type = 'Lock'
        ORDER BY w.query_start, w.pid, b.pid
        LIMIT @limit
        """;

    public const string Wraparound = """
        SELECT datname AS database,
               age(datfrozenxid) AS xid_age,
               round(100.0 * age(datfrozenxid) / 2147483648, 2) AS xid_pct_wraparound,
               round(100.0 * age(datfrozenxid) / current_setting('autovacuum_freeze_max_age')::numeric, 1) AS xid_pct_freeze_max_age,
               mxid_age(datminmxid) AS mxid_age,
               round(100.0 * mxid_age(datminmxid) / 2147483648, 2) AS mxid_pct_wraparound,
               round(100.0 * mxid_age(datminmxid) / current_setting('autovacuum_multixact_freeze_max_age')::numeric, 1) AS mxid_pct_freeze_max_age,
               datallowconn AS allows_connections
        FROM pg_database
        ORDER BY age(datfrozenxid) DESC, datname
        LIMIT @limit
        """;

    public const string Sequences = """
        SELECT format('%I.%I', schemaname, sequencename) AS sequence, data_type::text AS data_type,
               last_value, min_value, max_value, increment_by, cycle,
               round(100.0 * CASE WHEN last_value IS NULL THEN 0
                                  WHEN increment_by > 0 THEN last_value::numeric - min_value + 1
                                  ELSE max_value::numeric - last_value + 1 END
                     / (max_value::numeric - min_value + 1), 2) AS pct_used
        FROM pg_sequences
        ORDER BY pct_used DESC, 1
        LIMIT @limit
        """;
}
