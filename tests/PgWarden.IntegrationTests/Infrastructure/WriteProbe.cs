using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// A client that inserts a numbered row through PgBouncer every ~20 ms and records every
/// acknowledged id and every failure, so a test can measure the write-unavailability window and
/// check that no acknowledged write was lost.
/// </summary>
public sealed class WriteProbe : IAsyncDisposable
{
    private readonly IProbeTarget _cluster;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<(int Id, TimeSpan At)> _acked = new();
    private readonly ConcurrentDictionary<int, TimeSpan> _started = new();
    private readonly ConcurrentQueue<(TimeSpan At, string Error)> _failures = new();
    private readonly ConcurrentDictionary<int, bool> _syncWaitCancelled = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Task? _loop;

    public WriteProbe(IProbeTarget cluster)
    {
        _cluster = cluster;
    }

    public IReadOnlyCollection<(int Id, TimeSpan At)> Acked => _acked;

    public IReadOnlyCollection<(TimeSpan At, string Error)> Failures => _failures;

    public TimeSpan Now => _clock.Elapsed;

    /// <summary>The probe's clock, to share with a <see cref="FenceProbe"/>.</summary>
    public Stopwatch Clock => _clock;

    public async Task StartAsync()
    {
        await using (var conn = _cluster.ThroughPooler(1))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS probe (id int PRIMARY KEY, at timestamptz DEFAULT now())", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var id = 0;
        var cs = new NpgsqlConnectionStringBuilder(_cluster.ThroughPooler(1).ConnectionString) { Timeout = 2, CommandTimeout = 3, Pooling = false };
        while (!_stop.IsCancellationRequested)
        {
            id++;
            _started[id] = _clock.Elapsed;
            try
            {
                await using var conn = new NpgsqlConnection(cs.ConnectionString);
                var writeId = id;
                conn.Notice += (_, e) =>
                {
                    if (SyncWaitCancellation.Is(e.Notice))
                    {
                        _syncWaitCancelled[writeId] = true;
                    }
                };
                await conn.OpenAsync(_stop.Token);
                await using var cmd = new NpgsqlCommand($"INSERT INTO probe (id) VALUES ({id})", conn);
                await cmd.ExecuteNonQueryAsync(_stop.Token);
                _acked.Enqueue((id, _clock.Elapsed));
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                _failures.Enqueue((_clock.Elapsed, e.Message));
            }
            catch (Exception)
            {
                // Stopping: whatever the last attempt ran into no longer matters.
                break;
            }
            await Task.Delay(20);
        }
    }

    /// <summary>From the first failure after <paramref name="from"/> to the first success after it (zero if none failed).</summary>
    public TimeSpan UnavailableAfter(TimeSpan from)
    {
        var firstFailure = _failures.Where(f => f.At >= from).Select(f => f.At).DefaultIfEmpty(TimeSpan.MaxValue).Min();
        if (firstFailure == TimeSpan.MaxValue)
        {
            return TimeSpan.Zero;
        }
        var recovered = _acked.Where(a => a.At > firstFailure).Select(a => a.At).DefaultIfEmpty(TimeSpan.MaxValue).Min();
        return recovered == TimeSpan.MaxValue ? TimeSpan.MaxValue : recovered - firstFailure;
    }

    /// <summary>Waits until a write that <em>started</em> after <paramref name="from"/> was acknowledged (one already in flight at the fault says nothing).</summary>
    public async Task WaitForWriteStartedAfterAsync(TimeSpan from, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_acked.Any(a => _started.TryGetValue(a.Id, out var s) && s > from))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no write started after {from.TotalSeconds:0.00} s was acknowledged within {timeout.TotalSeconds:0} s; last errors: {string.Join(" | ", _failures.TakeLast(3).Select(f => f.Error))}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>The longest time between two acknowledged writes after <paramref name="from"/>: a write that waited counts too.</summary>
    public TimeSpan LongestGapAfter(TimeSpan from)
    {
        var times = _acked.Select(a => a.At).Where(t => t >= from).Order().Prepend(from).ToList();
        return times.Zip(times.Skip(1), (a, b) => b - a).DefaultIfEmpty(TimeSpan.Zero).Max();
    }

    /// <summary>Waits until a write after <paramref name="from"/> succeeded later than every failure since then.</summary>
    public async Task WaitForSuccessAfterAsync(TimeSpan from, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var lastFailure = _failures.Where(f => f.At >= from).Select(f => (TimeSpan?)f.At).Max();
            if (_acked.Any(a => a.At > from && (lastFailure is null || a.At > lastFailure)))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"writes did not succeed again within {timeout.TotalSeconds:0} s; last errors: {string.Join(" | ", _failures.TakeLast(3).Select(f => f.Error))}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Acknowledged ids that are not in the table now (read through PgBouncer from the current primary), not counting writes acknowledged with the cancelled-synchronous-wait warning (<see cref="SyncWaitCancellation"/>).</summary>
    public async Task<IReadOnlyList<int>> LostAsync()
    {
        await StopAsync();
        _present = await ClusterFacts.IdsOnPrimaryAsync(_cluster, "probe", "id");
        return _acked.Select(a => a.Id).Where(id => !_syncWaitCancelled.ContainsKey(id) && !_present.Contains(id)).ToList();
    }

    private HashSet<int>? _present;

    /// <summary>After <see cref="LostAsync"/>: the ids acknowledged with the cancelled-synchronous-wait warning, and whether each is still there.</summary>
    public IReadOnlyList<(int Id, bool Present)> SyncWaitCancelled() =>
        [.. _acked.Select(a => a.Id).Where(_syncWaitCancelled.ContainsKey).Select(id => (id, _present?.Contains(id) ?? throw new InvalidOperationException("call LostAsync first")))];

    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
