using PgWarden.Core.Ha;

namespace PgWarden.Agent;

/// <summary>The agent's latest view of its node, published for the API; replaced atomically, never mutated.</summary>
public sealed class NodeState
{
    private volatile NodeStatus _current;

    public NodeState(string name)
    {
        _current = new NodeStatus(name, NodeRole.Unknown, "starting", false, null, null, null, null, null, null, null, null, [], []);
    }

    public NodeStatus Current => _current;

    /// <summary>The cluster as last read from the DCS (null before the first successful read).</summary>
    public Core.Dcs.ClusterView? View { get; set; }

    public void Set(NodeStatus status) => _current = status;

    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Runs the agent's next HA cycle now instead of after loop_wait (an API request or a DCS change).</summary>
    public void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>
    /// Completes at the next <see cref="Wake"/>. The loop takes it before a cycle and waits on it
    /// after: a wake-up that arrives while the cycle runs is not lost.
    /// </summary>
    public Task WakeSignal => Volatile.Read(ref _wake).Task;

    private int _reinitRequested;

    /// <summary>Asks the agent to re-clone this replica from the leader; false if it is not a replica of a running leader.</summary>
    public bool RequestReinit()
    {
        var leader = View?.Leader?.Name;
        if (_current.Role != NodeRole.Replica || leader is null || leader == _current.Name)
        {
            return false;
        }
        Interlocked.Exchange(ref _reinitRequested, 1);
        Wake();
        return true;
    }

    /// <summary>True once per request.</summary>
    public bool TakeReinitRequest() => Interlocked.Exchange(ref _reinitRequested, 0) == 1;

    /// <summary>A re-initialisation was requested and not carried out yet.</summary>
    public bool ReinitPending => Volatile.Read(ref _reinitRequested) == 1;

    private int _restartRequested;

    /// <summary>
    /// Asks the agent to restart this node's PostgreSQL (planned: not counted as a crash); null when
    /// accepted, otherwise why not. Only a running primary that holds the lease, or a running replica
    /// of a leader, is restarted; the HA loop carries it out (<see cref="Core.Ha.HaDecision.Restart"/>).
    /// </summary>
    public string? RequestRestart()
    {
        var leader = View?.Leader?.Name;
        var s = _current;
        if (!s.PostgresRunning)
        {
            return $"{s.Name}'s PostgreSQL is not running (it starts with the current configuration when the agent starts it)";
        }
        if (leader is null)
        {
            return "there is no leader: a restart now could not be told from a failure; try again when the cluster has one";
        }
        if (s.Role == NodeRole.Primary && leader != s.Name)
        {
            return $"{s.Name} runs as a primary but {leader} leads";
        }
        Interlocked.Exchange(ref _restartRequested, 1);
        Wake();
        return null;
    }

    /// <summary>True once per request.</summary>
    public bool TakeRestartRequest() => Interlocked.Exchange(ref _restartRequested, 0) == 1;

    /// <summary>A restart was requested and not carried out yet.</summary>
    public bool RestartPending => Volatile.Read(ref _restartRequested) == 1;

    private TaskCompletionSource<ReloadOutcome>? _reload;
    private readonly Lock _reloadLock = new();

    /// <summary>
    /// Asks the loop to re-render the configuration and reload PostgreSQL; completes once it did, with
    /// what the server reports since, or why it could not (PostgreSQL not running, the reload not confirmed).
    /// </summary>
    public Task<ReloadOutcome> RequestReloadAsync()
    {
        Task<ReloadOutcome> task;
        lock (_reloadLock)
        {
            _reload ??= new TaskCompletionSource<ReloadOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            task = _reload.Task;
        }
        Wake();
        return task;
    }

    /// <summary>The pending reload request, once (the loop completes it).</summary>
    public TaskCompletionSource<ReloadOutcome>? TakeReloadRequest()
    {
        lock (_reloadLock)
        {
            var r = _reload;
            _reload = null;
            return r;
        }
    }

    /// <summary>How long the lease this node holds is safe for, by the monotonic clock (null: none); set by the HA loop.</summary>
    public Func<TimeSpan?> LeaseRemaining { get; set; } = () => null;

    public void Update(Func<NodeStatus, NodeStatus> change) => _current = change(_current);
}
