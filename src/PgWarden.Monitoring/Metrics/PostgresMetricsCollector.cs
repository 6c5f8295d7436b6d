using System.Diagnostics;
using Npgsql;
using Prometheus;

namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// Fills <see cref="PostgresMetrics"/> at scrape time from the local PostgreSQL: the statements of
/// <see cref="MetricsSql"/> go as one prepared batch (one round trip), every one bounded (top-N
/// tables and indexes, picked by catalog page counts before any size is computed); database sizes
/// come from <see cref="DatabaseSizeCache"/>. Scrapes run with a 2 s statement timeout on their own
/// small connection pool — apart from the HA loop's. A scrape not finished after
/// <see cref="ScrapeTimeout"/> is abandoned and answers pg_up 0, even when PostgreSQL is frozen
/// and never acknowledges the cancellation.
/// </summary>
public sealed class PostgresMetricsCollector : IAsyncDisposable
{
    public static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(3);
    private readonly NpgsqlDataSource _source;
    private readonly PostgresMetrics _m;
    private readonly DatabaseSizeCache _sizes;
    private readonly string[] _statements;
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
            // The scrape changes no session state: no reset when a connection goes back to the
            // pool, and the prepared statements stay on it.
            NoResetOnClose = true,
        };
        _source = NpgsqlDataSource.Create(cs.ConnectionString);
        _m = new PostgresMetrics(registry);
        _sizes = new DatabaseSizeCache(_source, ScrapeTimeout);
        _statements =
        [
            MetricsSql.Instance, MetricsSql.Databases, MetricsSql.Activity, MetricsSql.Tables(topN), MetricsSql.Indexes(topN),
            MetricsSql.Replication, MetricsSql.Slots,
        ];
        registry.AddBeforeCollectCallback(CollectAsync);
    }

    public async Task CollectAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        // A scrape waiting behind another (two scrapers, a frozen server) still answers within ScrapeTimeout in all.
        if (!await _gate.WaitAsync(ScrapeTimeout, ct))
        {
            _m.Up.Set(0);
            return;
        }
        try
        {
            // Npgsql stops a query at the deadline by asking PostgreSQL to cancel it, then waits
            // for the answer up to its command timeout: seconds more when the server is frozen.
            // The scrape does not wait for that; the abandoned read ends on its own.
            var read = ReadAsync(ct);
            _ = read.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            var left = ScrapeTimeout - clock.Elapsed;
            var samples = await read.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, ct);
            samples.Apply();
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

    /// <summary>
    /// One scrape's reads. A pooled connection left from before PostgreSQL restarted breaks on its
    /// first use (Npgsql does not check idle connections): then the pool is cleared and the scrape
    /// tried once more on a new connection, so a restart does not show as pg_up 0 for a scrape.
    /// </summary>
    private async Task<ScrapeSamples> ReadAsync(CancellationToken ct)
    {
        try
        {
            return await ReadOnceAsync(ct);
        }
        catch (NpgsqlException e) when (e is not PostgresException && !ct.IsCancellationRequested)
        {
            _source.Clear();
            return await ReadOnceAsync(ct);
        }
    }

    private async Task<ScrapeSamples> ReadOnceAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ScrapeTimeout);
        var s = new ScrapeSamples();
        await using var conn = await _source.OpenConnectionAsync(timeout.Token);
        await using (var batch = new NpgsqlBatch(conn))
        {
            foreach (var sql in _statements)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(sql));
            }
            // A no-op once the statements are prepared on this pooled connection.
            await batch.PrepareAsync(timeout.Token);
            await using var r = await batch.ExecuteReaderAsync(timeout.Token);
            await ReadInstanceAsync(r, s, timeout.Token);
            await NextAsync(r, timeout.Token);
            await ReadDatabasesAsync(r, s, timeout.Token);
            await NextAsync(r, timeout.Token);
            await ReadActivityAsync(r, s, timeout.Token);
            await NextAsync(r, timeout.Token);
            await ReadTablesAsync(r, s, conn.Database, timeout.Token);
            await NextAsync(r, timeout.Token);
            await ReadIndexesAsync(r, s, conn.Database, timeout.Token);
            await NextAsync(r, timeout.Token);
            await ReadReplicationAsync(r, s, timeout.Token);
            await NextAsync(r, timeout.Token);
            await ReadSlotsAsync(r, s, timeout.Token);
        }
        foreach (var (db, size) in await _sizes.GetAsync(conn, timeout.Token))
        {
            s.Set(_m.DatabaseSize, size, db);
        }
        return s;
    }

    private static async Task NextAsync(NpgsqlDataReader r, CancellationToken ct)
    {
        if (!await r.NextResultAsync(ct))
        {
            throw new InvalidOperationException("the metrics batch returned fewer result sets than statements");
        }
    }

    private async Task ReadInstanceAsync(NpgsqlDataReader r, ScrapeSamples s, CancellationToken ct)
    {
        if (!await r.ReadAsync(ct))
        {
            throw new InvalidOperationException("pg_stat_archiver returned no row");
        }
        s.Set(_m.InRecovery, r.GetBoolean(0) ? 1 : 0);
        s.Set(_m.StartTime, r.GetDouble(1));
        s.Set(_m.MaxConnections, r.GetDouble(2));
        s.Set(_m.CacheHitRatio, r.IsDBNull(3) ? double.NaN : r.GetDouble(3));
        s.Set(_m.ReplicaLagSeconds, r.GetDouble(4));
        s.Set(_m.ReplicaReplayPaused, r.GetBoolean(5) ? 1 : 0);
        s.Set(_m.ArchivedCount, r.GetDouble(6));
        s.Set(_m.ArchiveFailedCount, r.GetDouble(7));
        s.Set(_m.LastArchiveAge, r.GetDouble(8));
        s.Set(_m.ArchiveBacklog, r.GetDouble(9));
        s.Set(_m.WalBytes, r.GetDouble(10));
        s.Set(_m.ArchiveFailing, r.GetDouble(11));
    }

    private async Task ReadDatabasesAsync(NpgsqlDataReader r, ScrapeSamples s, CancellationToken ct)
    {
        while (await r.ReadAsync(ct))
        {
            var db = r.GetString(0);
            s.Set(_m.Backends, r.GetDouble(1), db);
            s.Set(_m.Commits, r.GetDouble(2), db);
            s.Set(_m.Rollbacks, r.GetDouble(3), db);
            s.Set(_m.BlocksRead, r.GetDouble(4), db);
            s.Set(_m.BlocksHit, r.GetDouble(5), db);
            s.Set(_m.Deadlocks, r.GetDouble(6), db);
            s.Set(_m.TempBytes, r.GetDouble(7), db);
            s.Set(_m.XidAge, r.GetDouble(8), db);
            s.Set(_m.TuplesReturned, r.GetDouble(9), db);
            s.Set(_m.TuplesFetched, r.GetDouble(10), db);
            s.Set(_m.TuplesInserted, r.GetDouble(11), db);
            s.Set(_m.TuplesUpdated, r.GetDouble(12), db);
            s.Set(_m.TuplesDeleted, r.GetDouble(13), db);
        }
    }

    private async Task ReadActivityAsync(NpgsqlDataReader r, ScrapeSamples s, CancellationToken ct)
    {
        var waiting = 0.0;
        while (await r.ReadAsync(ct))
        {
            var db = r.GetString(0);
            var state = r.GetString(1);
            s.Set(_m.ActivityCount, r.GetDouble(2), db, state);
            s.Set(_m.MaxTxDuration, r.GetDouble(3), db, state);
            waiting += r.GetDouble(4);
        }
        s.Set(_m.Waiting, waiting);
    }

    private async Task ReadTablesAsync(NpgsqlDataReader r, ScrapeSamples s, string db, CancellationToken ct)
    {
        while (await r.ReadAsync(ct))
        {
            string[] labels = [db, r.GetString(0), r.GetString(1)];
            s.Set(_m.TableSize, r.GetDouble(2), labels);
            s.Set(_m.LiveTuples, r.GetDouble(3), labels);
            s.Set(_m.DeadTuples, r.GetDouble(4), labels);
            s.Set(_m.LastVacuum, r.IsDBNull(5) ? -1 : r.GetDouble(5), labels);
            s.Set(_m.LastAnalyze, r.IsDBNull(6) ? -1 : r.GetDouble(6), labels);
        }
    }

    private async Task ReadIndexesAsync(NpgsqlDataReader r, ScrapeSamples s, string db, CancellationToken ct)
    {
        while (await r.ReadAsync(ct))
        {
            s.Set(_m.IndexScans, r.GetDouble(3), db, r.GetString(0), r.GetString(1), r.GetString(2));
        }
    }

    private async Task ReadReplicationAsync(NpgsqlDataReader r, ScrapeSamples s, CancellationToken ct)
    {
        while (await r.ReadAsync(ct))
        {
            s.Set(_m.ReplicationLagBytes, r.GetDouble(2), r.GetString(0), r.GetString(1));
            s.Set(_m.ReplicationLagSeconds, r.GetDouble(3), r.GetString(0));
        }
    }

    private async Task ReadSlotsAsync(NpgsqlDataReader r, ScrapeSamples s, CancellationToken ct)
    {
        while (await r.ReadAsync(ct))
        {
            var (name, type, database, active) = (r.GetString(0), r.GetString(1), r.GetString(2), r.GetBoolean(3) ? 1 : 0);
            s.Set(_m.SlotActive, active, name, database);
            s.Set(_m.SlotRetained, r.GetDouble(4), name, database);
            s.Set(_m.SlotIsActive, active, name, type);
            s.Set(_m.SlotWalStatus, 1, name, type, r.GetString(5));
            if (!r.IsDBNull(6))
            {
                s.Set(_m.SlotSafeWal, r.GetDouble(6), name, type);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sizes.DisposeAsync();
        await _source.DisposeAsync();
    }
}
