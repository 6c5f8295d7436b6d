namespace PgWarden.Core.Ha;

/// <summary>
/// Decides, as a pure function, what role a node takes when its agent starts, from its own data
/// directory and what it sees of its peers. The leader-lease decision of the HA loop builds on this.
/// </summary>
public static class BootstrapDecider
{
    /// <param name="self">This node's name.</param>
    /// <param name="bootstrapNode">The node that creates a new cluster (the first one configured).</param>
    /// <param name="data">What this node's data directory holds.</param>
    /// <param name="peers">The other nodes, as seen now.</param>
    /// <param name="configuredUpstream">The node this replica followed when it last ran, if known.</param>
    public static RoleDecision Decide(string self, string bootstrapNode, LocalDataState data,
        IReadOnlyList<PeerView> peers, string? configuredUpstream)
    {
        var primaries = peers.Where(p => p.Name != self && p.Reachable && p.Role == NodeRole.Primary)
            .Select(p => p.Name).Order(StringComparer.Ordinal).ToList();

        switch (data)
        {
            case LocalDataState.Empty when primaries.Count == 1:
                return new RoleDecision.CloneFrom(primaries[0], $"data directory is empty and {primaries[0]} is primary: cloning it");
            case LocalDataState.Empty when primaries.Count > 1:
                return new RoleDecision.Wait($"data directory is empty and several nodes claim to be primary ({string.Join(", ", primaries)}): not cloning until one remains");
            case LocalDataState.Empty when self == bootstrapNode:
                var unseen = peers.Where(p => p.Name != self && !p.AgentAnswered).Select(p => p.Name).ToList();
                if (unseen.Count > 0)
                {
                    return new RoleDecision.Wait($"data directory is empty but {string.Join(", ", unseen)} cannot be asked whether a cluster already exists: not initialising a new one until every node's agent answers");
                }
                if (peers.Any(p => p.Name != self && p.Reachable && p.Role == NodeRole.Replica))
                {
                    return new RoleDecision.Wait("data directory is empty but other nodes already hold replicas of a cluster: refusing to initialise a new one");
                }
                return new RoleDecision.InitializePrimary("data directory is empty, no primary exists and this is the bootstrap node: initialising the cluster");
            case LocalDataState.Empty:
                return new RoleDecision.Wait($"data directory is empty: waiting for a primary to clone from (the bootstrap node is {bootstrapNode})");

            case LocalDataState.Primary when primaries.Count > 0:
                return new RoleDecision.Wait($"this node's data was a primary but {string.Join(", ", primaries)} is primary now: not starting a second primary");
            case LocalDataState.Primary:
                return new RoleDecision.StartPrimary("data directory holds a primary and no other primary is running: starting as primary");

            case LocalDataState.Standby when primaries.Count == 1:
                return new RoleDecision.StartReplica(primaries[0], $"data directory holds a replica: following primary {primaries[0]}");
            case LocalDataState.Standby when configuredUpstream is not null:
                return new RoleDecision.StartReplica(configuredUpstream, $"data directory holds a replica and no primary answers yet: starting read-only, following {configuredUpstream} as before");
            default:
                return new RoleDecision.StartReplica(bootstrapNode, $"data directory holds a replica and no primary answers yet: starting read-only, following {bootstrapNode}");
        }
    }
}
