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

    public void Update(Func<NodeStatus, NodeStatus> change) => _current = change(_current);
}
