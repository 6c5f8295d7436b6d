using PgWarden.Core.Dcs;

namespace PgWarden.Core.Ha;

/// <summary>When a switchover or manual failover may be requested, as a pure function (refusals are one sentence).</summary>
public static class SwitchoverRules
{
    /// <summary>Null when the request is acceptable, otherwise why not.</summary>
    public static string? Validate(string kind, ClusterView view, IReadOnlyList<string> nodes, string? expectedLeader, string? candidate)
    {
        var leader = view.Leader?.Name;
        var leaderHealthy = leader is not null && view.Members.TryGetValue(leader, out var lm) && lm is { PostgresRunning: true, Role: NodeRole.Primary };
        if (candidate is not null && !nodes.Contains(candidate))
        {
            return $"'{candidate}' is not a node of this cluster (nodes: {string.Join(", ", nodes)})";
        }
        if (kind == "switchover")
        {
            if (!leaderHealthy)
            {
                return "there is no healthy leader to switch over from; use failover";
            }
            if (expectedLeader is not null && expectedLeader != leader)
            {
                return $"the leader is {leader}, not {expectedLeader}";
            }
            if (candidate == leader)
            {
                return $"{candidate} is already the leader";
            }
        }
        else if (kind == "failover")
        {
            if (leaderHealthy)
            {
                return $"{leader} is a healthy leader; a failover is only for when there is none — use switchover";
            }
            if (candidate is null)
            {
                return "a failover needs a target node (--to NODE)";
            }
        }
        else
        {
            return $"unknown request '{kind}'";
        }
        if (view.Failover is not null)
        {
            return $"a {view.Failover.Kind} to {view.Failover.To} is already in progress";
        }
        var target = candidate ?? BestCandidate(view, leader);
        if (target is null)
        {
            return "no replica is streaming and eligible to take over";
        }
        if (!view.Members.TryGetValue(target, out var t) || t is not { PostgresRunning: true, Role: NodeRole.Replica })
        {
            return $"{target} is not a running replica";
        }
        if (t.NoFailover)
        {
            return $"{target} is tagged nofailover";
        }
        if (kind == "switchover" && t.State != "streaming")
        {
            return $"{target} is not streaming from the leader";
        }
        var reference = view.Members.Values.Select(m => m.WalPosition ?? 0).Append(view.LastLeaderPosition ?? 0).Max();
        if (kind == "switchover" && reference - (t.WalPosition ?? 0) > view.Config.MaximumLagOnFailover)
        {
            return $"{target} is {reference - (t.WalPosition ?? 0)} bytes behind, more than maximum_lag_on_failover";
        }
        return null;
    }

    /// <summary>The streaming replica with the most WAL (then priority, then name), or null.</summary>
    public static string? BestCandidate(ClusterView view, string? leader) =>
        view.Members.Values
            .Where(m => m.Name != leader && m is { PostgresRunning: true, Role: NodeRole.Replica, NoFailover: false })
            .OrderByDescending(m => m.WalPosition ?? 0).ThenByDescending(m => m.Priority).ThenBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => m.Name).FirstOrDefault();
}
