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

    /// <summary>How long the lease this node holds is safe for, by the monotonic clock (null: none); set by the HA loop.</summary>
    public Func<TimeSpan?> LeaseRemaining { get; set; } = () => null;

    public void Update(Func<NodeStatus, NodeStatus> change) => _current = change(_current);
}
