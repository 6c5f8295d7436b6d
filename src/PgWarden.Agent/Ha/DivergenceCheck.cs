using PgWarden.Core.Config;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Ha;

/// <summary>
/// Tells whether this node's WAL is still a prefix of the leader's timeline history, from the
/// leader's history file (fetched in the background, once per leader and timeline). Unknown (null)
/// until the answer is in; a node on the leader's own timeline has not diverged.
/// </summary>
public sealed class DivergenceCheck(IPeerNodes peers, Action<string> failed)
{
    private (string Leader, long Timeline)? _for;
    private TimelineHistory? _history;
    private Task? _fetch;
    private string? _lastError;

    /// <summary>The last attempt to read the leader's history failed (the leader unreachable, say).</summary>
    public bool LastFetchFailed => _lastError is not null;

    /// <param name="leader">The leader and its current timeline.</param>
    /// <param name="timeline">This node's timeline.</param>
    /// <param name="position">How far this node's WAL goes on it (bytes): replayed for a replica, the shutdown checkpoint for a stopped primary.</param>
    public bool? Diverged(NodeConfig leader, long leaderTimeline, long timeline, long? position)
    {
        if (timeline <= 0 || leaderTimeline <= 0 || position is null)
        {
            return null;
        }
        if (timeline >= leaderTimeline)
        {
            // On the leader's own timeline it has not left it; on a newer one than the leader's it cannot follow it.
            return timeline > leaderTimeline;
        }
        if (_for != (leader.Name, leaderTimeline))
        {
            _for = (leader.Name, leaderTimeline);
            _history = null;
            _fetch = null;
        }
        if (_history is { } history)
        {
            return history.HasDiverged(timeline, position.Value);
        }
        if (_fetch is null or { IsCompleted: true })
        {
            var key = _for;
            _fetch = Task.Run(async () =>
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    var fetched = await peers.TimelineHistoryAsync(leader, leaderTimeline, timeout.Token);
                    if (_for == key)
                    {
                        _history = fetched;
                        _lastError = null;
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    var error = $"could not read the timeline history of {leader.Name} (timeline {leaderTimeline}): {e.Message}";
                    if (error != _lastError)
                    {
                        failed(error);
                    }
                    _lastError = error;
                }
            });
        }
        return null;
    }

    /// <summary>Waits for a fetch in flight (tests).</summary>
    public Task WhenFetchedAsync() => _fetch ?? Task.CompletedTask;
}
