using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// The outside view of "never two writable primaries": every ~100 ms it tries a direct write on
/// every node (superuser, straight to its PostgreSQL, never through the agents' opinion of their
/// role) and records each acknowledged one with the node's timeline. Once a write on a newer
/// timeline was acknowledged, no write on an older timeline may start and be acknowledged — nor, on
/// the same timeline, on another node; <see cref="Violations"/> lists the pairs that break this.
/// </summary>
public sealed class FenceProbe : IAsyncDisposable
{
    /// <param name="SyncWaitCancelled">Acknowledged with PostgreSQL's warning that the wait for a synchronous standby was cancelled (<see cref="SyncWaitCancellation"/>): not durable.</param>
    public sealed record Write(string Node, long Timeline, int Seq, TimeSpan Started, TimeSpan Acked, bool SyncWaitCancelled = false);

    private readonly IProbeTarget _cluster;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Write> _acked = new();
    private readonly Stopwatch _clock;
    private readonly List<Task> _loops = [];
    private int _seq;

    /// <param name="clock">Share a <see cref="WriteProbe"/>'s clock to compare their times.</param>
    public FenceProbe(IProbeTarget cluster, Stopwatch? clock = null)
    {
        _cluster = cluster;
        _clock = clock ?? Stopwatch.StartNew();
    }

    public IReadOnlyCollection<Write> Acked => _acked;

    /// <summary>Creates the probe table through the primary (PgBouncer) and starts one writer per node.</summary>
    public async Task StartAsync()
    {
        await using (var conn = _cluster.ThroughPooler(1))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS fence_probe (seq int PRIMARY KEY, node text, at timestamptz DEFAULT now())", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        for (var node = 1; node <= _cluster.NodeCount; node++)
        {
            var n = node;
            _loops.Add(Task.Run(() => RunAsync(n)));
        }
    }

    private async Task RunAsync(int node)
    {
        var name = _cluster.NodeName(node);
        var cs = new NpgsqlConnectionStringBuilder(_cluster.Direct(node).ConnectionString)
        {
            Timeout = 1, CommandTimeout = 2, Pooling = false, ApplicationName = "fence-probe",
        }.ConnectionString;
        while (!_stop.IsCancellationRequested)
        {
            var seq = Interlocked.Increment(ref _seq);
            var started = _clock.Elapsed;
            try
            {
                await using var conn = new NpgsqlConnection(cs);
                var syncWaitCancelled = false;
                conn.Notice += (_, e) => syncWaitCancelled |= SyncWaitCancellation.Is(e.Notice);
                await conn.OpenAsync(_stop.Token);
                await using var cmd = new NpgsqlCommand(
                    "INSERT INTO fence_probe (seq, node) VALUES ($1, $2) RETURNING ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint", conn);
                cmd.Parameters.Add(new NpgsqlParameter { Value = seq });
                cmd.Parameters.Add(new NpgsqlParameter { Value = name });
                var timeline = (long)(await cmd.ExecuteScalarAsync(_stop.Token))!;
                _acked.Enqueue(new Write(name, timeline, seq, started, _clock.Elapsed, syncWaitCancelled));
            }
            catch (Exception) when (!_stop.IsCancellationRequested)
            {
                // Read-only, stopped, fenced, unreachable: not a writer right now.
            }
            catch (Exception)
            {
                // Stopping: whatever the last attempt ran into (cancelled, read-only) no longer matters.
                break;
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Acknowledged writes that started after a write on a newer timeline (or on another node of the same timeline) was acknowledged.</summary>
    public IReadOnlyList<(Write Late, Write Newer)> Violations()
    {
        var writes = _acked.ToList();
        var found = new List<(Write, Write)>();
        foreach (var late in writes)
        {
            var newer = writes.FirstOrDefault(w => w.Acked < late.Started
                && (w.Timeline > late.Timeline || w.Timeline == late.Timeline && w.Node != late.Node));
            if (newer is not null)
            {
                found.Add((late, newer));
            }
        }
        return found;
    }

    /// <summary>Acknowledged fence writes that are not in the table on the current primary now (not counting <see cref="Write.SyncWaitCancelled"/> ones).</summary>
    public async Task<IReadOnlyList<int>> LostAsync()
    {
        await StopAsync();
        _present = await ClusterFacts.IdsOnPrimaryAsync(_cluster, "fence_probe", "seq");
        return _acked.Where(a => !a.SyncWaitCancelled).Select(a => a.Seq).Where(s => !_present.Contains(s)).ToList();
    }

    private HashSet<int>? _present;

    /// <summary>After <see cref="LostAsync"/>: the writes acknowledged with the cancelled-synchronous-wait warning, and whether each is still there.</summary>
    public IReadOnlyList<(Write Write, bool Present)> SyncWaitCancelled() =>
        [.. _acked.Where(a => a.SyncWaitCancelled).Select(a => (a, _present?.Contains(a.Seq) ?? throw new InvalidOperationException("call LostAsync first")))];

    public string Describe(IEnumerable<(Write Late, Write Newer)> violations) =>
        string.Join("; ", violations.Take(5).Select(v =>
            $"{v.Late.Node} (timeline {v.Late.Timeline}) acknowledged seq {v.Late.Seq} started at {v.Late.Started.TotalSeconds:0.00} s after {v.Newer.Node} (timeline {v.Newer.Timeline}) acknowledged seq {v.Newer.Seq} at {v.Newer.Acked.TotalSeconds:0.00} s"));

    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
