using System.Diagnostics;
using Npgsql;
using Prometheus;

namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// Fills <see cref="PostgresMetrics"/> at scrape time from the local PostgreSQL. Every query is
/// bounded (top-N tables and indexes, picked by catalog page counts before any size is computed),
/// runs with a 2 s statement timeout on its own small connection pool — apart from the HA loop's —
/// and a scrape gives up after <see cref="ScrapeTimeout"/> with pg_up 0 instead of hanging.
/// </summary>
public sealed class PostgresMetricsCollector : IAsyncDisposable
{
    public static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(3);
    private readonly NpgsqlDataSource _source;
    private readonly PostgresMetrics _m;
    private readonly int _topN;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public PostgresMetricsCollector(string connectionString, CollectorRegistry registry, int topN = 20)
    {
        var cs = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Timeout = 2,
            CommandTimeout = 3,
            MaxPoolSize = 2,
            ApplicationName = "pgwarden-metrics",
            Options = "-c statement_timeout=2000 -c lock_timeout=500",
        };
        _source = NpgsqlDataSource.Create(cs.ConnectionString);
        _m = new PostgresMetrics(registry);
        _topN = topN;
        registry.AddBeforeCollectCallback(CollectAsync);
    }

    public async Task CollectAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        var clock = Stopwatch.StartNew();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(ScrapeTimeout);
            await using var conn = await _source.OpenConnectionAsync(timeout.Token);
            await ScrapeAsync(conn, timeout.Token);
            foreach (var g in _m.Labelled)
            {
                g.Sweep();
            }
            _m.Up.Set(1);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            _m.Up.Set(0);
            foreach (var g in _m.Labelled)
            {
                g.Clear();
            }
        }
        finally
        {
            _m.ScrapeSeconds.Set(clock.Elapsed.TotalSeconds);
            _gate.Release();
        }
    }

    private async Task ScrapeAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        bool inRecovery;
        await using (var r = await Query(conn, """
            SELECT pg_is_in_recovery(), extract(epoch FROM pg_postmaster_start_time())::float8,
                   current_setting('max_connections')::float8,
                   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'active'
                        AND wait_event IS NOT NULL AND wait_event_type NOT IN ('Client', 'Activity'))::float8,
                   (SELECT sum(pg_stat_get_blocks_hit(c.oid))::float8 / nullif(sum(pg_stat_get_blocks_fetched(c.oid)), 0)
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast')
            """, ct))
        {
            await r.ReadAsync(ct);
            inRecovery = r.GetBoolean(0);
            _m.InRecovery.Set(inRecovery ? 1 : 0);
            _m.StartTime.Set(r.GetDouble(1));
            _m.MaxConnections.Set(r.GetDouble(2));
            _m.Waiting.Set(r.GetDouble(3));
            _m.CacheHitRatio.Set(r.IsDBNull(4) ? double.NaN : r.GetDouble(4));
        }
        await using (var r = await Query(conn, """
            SELECT s.datname, pg_database_size(s.datid)::float8, s.numbackends::float8, s.xact_commit::float8, s.xact_rollback::float8,
                   s.blks_read::float8, s.blks_hit::float8, s.deadlocks::float8, s.temp_bytes::float8, age(d.datfrozenxid)::float8
            FROM pg_stat_database s JOIN pg_database d ON d.oid = s.datid
            WHERE s.datname IS NOT NULL AND d.datallowconn
            """, ct))
        {
            while (await r.ReadAsync(ct))
            {
                var db = r.GetString(0);
                _m.DatabaseSize.Set(r.GetDouble(1), db);
                _m.Backends.Set(r.GetDouble(2), db);
                _m.Commits.Set(r.GetDouble(3), db);
                _m.Rollbacks.Set(r.GetDouble(4), db);
                _m.BlocksRead.Set(r.GetDouble(5), db);
                _m.BlocksHit.Set(r.GetDouble(6), db);
                _m.Deadlocks.Set(r.GetDouble(7), db);
                _m.TempBytes.Set(r.GetDouble(8), db);
                _m.XidAge.Set(r.GetDouble(9), db);
            }
        }
        await using (var r = await Query(conn, """
            SELECT coalesce(datname, ''), coalesce(state, 'unknown'), count(*)::float8,
                   coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8
            FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2
            """, ct))
        {
            while (await r.ReadAsync(ct))
            {
                _m.ActivityCount.Set(r.GetDouble(2), r.GetString(0), r.GetString(1));
                _m.MaxTxDuration.Set(r.GetDouble(3), r.GetString(0), r.GetString(1));
            }
        }
        await ScrapeTablesAsync(conn, ct);
        if (inRecovery)
        {
            await using var r = await Query(conn, """
                SELECT CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8,
                       (pg_get_wal_replay_pause_state() <> 'not paused')
                """, ct);
            await r.ReadAsync(ct);
            _m.ReplicaLagSeconds.Set(r.GetDouble(0));
            _m.ReplicaReplayPaused.Set(r.GetBoolean(1) ? 1 : 0);
        }
        else
        {
            _m.ReplicaLagSeconds.Set(0);
            _m.ReplicaReplayPaused.Set(0);
            await using (var r = await Query(conn, """
                SELECT application_name, state, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8,
                       coalesce(extract(epoch FROM replay_lag), 0)::float8
                FROM pg_stat_replication
                """, ct))
            {
                while (await r.ReadAsync(ct))
                {
                    _m.ReplicationLagBytes.Set(r.GetDouble(2), r.GetString(0), r.GetString(1));
                    _m.ReplicationLagSeconds.Set(r.GetDouble(3), r.GetString(0));
                }
            }
            await using (var r = await Query(conn, """
                SELECT slot_name, active, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::float8 FROM pg_replication_slots
                """, ct))
            {
                while (await r.ReadAsync(ct))
                {
                    _m.SlotActive.Set(r.GetBoolean(1) ? 1 : 0, r.GetString(0));
                    _m.SlotRetained.Set(r.GetDouble(2), r.GetString(0));
                }
            }
        }
        await using (var r = await Query(conn, """
            SELECT archived_count::float8, failed_count::float8,
                   coalesce(extract(epoch FROM now() - last_archived_time), -1)::float8,
                   (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')::float8,
                   (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir())::float8
            FROM pg_stat_archiver
            """, ct))
        {
            await r.ReadAsync(ct);
            _m.ArchivedCount.Set(r.GetDouble(0));
            _m.ArchiveFailedCount.Set(r.GetDouble(1));
            _m.LastArchiveAge.Set(r.GetDouble(2));
            _m.ArchiveBacklog.Set(r.GetDouble(3));
            _m.WalBytes.Set(r.GetDouble(4));
        }
    }

    /// <summary>
    /// The largest tables, chosen from pg_class by page count first so that statistics and sizes
    /// are computed for N tables only (the statistics views evaluate a dozen functions per row),
    /// and the indexes' scans.
    /// </summary>
    private async Task ScrapeTablesAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var db = conn.Database;
        await using (var r = await Query(conn, $"""
            SELECT s.schemaname, s.relname, pg_total_relation_size(s.relid)::float8, s.n_live_tup::float8, s.n_dead_tup::float8,
                   extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum))::float8,
                   extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float8
            FROM (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
                  ORDER BY c.relpages DESC, c.oid LIMIT {_topN}) top
            JOIN pg_stat_user_tables s ON s.relid = top.oid
            """, ct))
        {
            while (await r.ReadAsync(ct))
            {
                string[] labels = [db, r.GetString(0), r.GetString(1)];
                _m.TableSize.Set(r.GetDouble(2), labels);
                _m.LiveTuples.Set(r.GetDouble(3), labels);
                _m.DeadTuples.Set(r.GetDouble(4), labels);
                _m.LastVacuum.Set(r.IsDBNull(5) ? -1 : r.GetDouble(5), labels);
                _m.LastAnalyze.Set(r.IsDBNull(6) ? -1 : r.GetDouble(6), labels);
            }
        }
        await using (var r = await Query(conn, $"""
            (SELECT schemaname, relname, indexrelname, idx_scan::float8 FROM pg_stat_user_indexes ORDER BY idx_scan DESC, indexrelid LIMIT {_topN})
            UNION
            (SELECT schemaname, relname, indexrelname, idx_scan::float8 FROM pg_stat_user_indexes WHERE idx_scan = 0 ORDER BY indexrelid LIMIT {_topN})
            """, ct))
        {
            while (await r.ReadAsync(ct))
            {
                _m.IndexScans.Set(r.GetDouble(3), db, r.GetString(0), r.GetString(1), r.GetString(2));
            }
        }
    }

    private static async Task<NpgsqlDataReader> Query(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.Default, ct);
    }

    public async ValueTask DisposeAsync() => await _source.DisposeAsync();
}
