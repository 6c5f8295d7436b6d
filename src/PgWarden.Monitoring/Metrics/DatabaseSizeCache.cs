using Npgsql;

namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// pg_database_size() stats every file of every database: with 1,000 tables it costs about three
/// times the CPU of all the other scrape statements together. Sizes change slowly, so they are
/// measured every <see cref="RefreshInterval"/> in the background (from the first scrape on) and
/// a scrape publishes the latest measurement. Only when there is none younger than
/// <see cref="MaxAge"/> (the first scrape, or background measurements failing) does the scrape
/// measure inline, under its own deadline.
/// </summary>
public sealed class DatabaseSizeCache(NpgsqlDataSource source, TimeSpan deadline, TimeProvider? time = null) : IAsyncDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxAge = 2 * RefreshInterval;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _lock = new();
    private DatabaseSizeSnapshot? _last;
    private Task? _loop;

    /// <summary>
    /// The sizes to publish; <paramref name="conn"/> is the scrape's connection, used only when
    /// the sizes must be measured inline.
    /// </summary>
    public async Task<IReadOnlyList<KeyValuePair<string, double>>> GetAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        lock (_lock)
        {
            _loop ??= RefreshLoopAsync();
        }
        var last = Latest();
        if (last is null || _time.GetElapsedTime(last.TakenAt) >= MaxAge)
        {
            last = await MeasureAsync(conn, ct);
            Publish(last);
        }
        return last.Sizes;
    }

    private DatabaseSizeSnapshot? Latest()
    {
        lock (_lock)
        {
            return _last;
        }
    }

    private void Publish(DatabaseSizeSnapshot snapshot)
    {
        lock (_lock)
        {
            if (_last is null || _last.TakenAt < snapshot.TakenAt)
            {
                _last = snapshot;
            }
        }
    }

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(RefreshInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_disposed.Token))
            {
                await RefreshAsync();
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private async Task RefreshAsync()
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
            timeout.CancelAfter(deadline);
            await using var conn = await source.OpenConnectionAsync(timeout.Token);
            Publish(await MeasureAsync(conn, timeout.Token));
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException
                                      or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // PostgreSQL is slow or down: the last sizes stay published until they are MaxAge old,
            // then scrapes measure inline (and report pg_up 0 if that fails too).
        }
    }

    private async Task<DatabaseSizeSnapshot> MeasureAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var takenAt = _time.GetTimestamp();
        var sizes = new List<KeyValuePair<string, double>>();
        await using var cmd = new NpgsqlCommand(MetricsSql.DatabaseSizes, conn);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            sizes.Add(new(r.GetString(0), r.GetDouble(1)));
        }
        return new DatabaseSizeSnapshot(sizes, takenAt);
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        Task? loop;
        lock (_lock)
        {
            loop = _loop;
        }
        if (loop is not null)
        {
            await loop;
        }
        _disposed.Dispose();
    }
}
