using PgWarden.Core.Dcs;

namespace PgWarden.Core.Ha;

/// <summary>
/// When a switchover or manual failover may be requested, as a pure function (refusals are one
/// sentence). A request is accepted only if the agents would carry it out — the target passes the
/// same <see cref="Eligibility"/> rules the HA loop applies — so nothing is left pending. Both are
/// accepted while the cluster is paused: pause stops automatic failover, not the operator.
/// </summary>
public static class SwitchoverRules
{
    /// <summary>Null when the request is acceptable, otherwise why not.</summary>
    public static string? Validate(FailoverKind kind, ClusterView view, IReadOnlyList<string> nodes, string? expectedLeader, string? candidate, DateTimeOffset now)
    {
        var leader = view.Leader?.Name;
        var leaderHealthy = leader is not null && view.Members.TryGetValue(leader, out var lm) && lm is { PostgresRunning: true, Role: NodeRole.Primary };
        if (candidate is not null && !nodes.Contains(candidate))
        {
            return $"'{candidate}' is not a node of this cluster (nodes: {string.Join(", ", nodes)})";
        }
        if (kind == FailoverKind.Switchover)
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
        else
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
        if (view.Failover is { } pending && pending.IsActive(now))
        {
            return pending.ScheduledAt is null
                ? $"a {pending.Describe()} is already in progress (until {pending.ExpiresAt:HH:mm:ss} UTC)"
                : $"a {pending.Describe()} is pending (`pgwarden switchover --cancel` removes it)";
        }
        var target = candidate ?? BestCandidate(view, leader, nodes);
        if (target is null)
        {
            return "no replica is streaming and eligible to take over";
        }
        if (!view.Members.TryGetValue(target, out var t) || t is not { PostgresRunning: true, Role: NodeRole.Replica })
        {
            return $"{target} is not a running replica";
        }
        if (kind == FailoverKind.Switchover && t.State != "streaming")
        {
            return $"{target} is not streaming from the leader";
        }
        return Eligibility.WhyNot(view, AsCandidate(t), nodes) is { } why ? $"{target} may not take over: {why}" : null;
    }

    /// <summary>
    /// Members publish their WAL positions each on its own cycle, up to loop_wait apart, so under
    /// write load a healthy streaming replica's published position trails the leader's by more than
    /// maximum_lag_on_failover. The leader measures each replica's lag in one snapshot
    /// (pg_stat_replication: its current WAL position minus the replica's flush position); with that,
    /// a replica is placed exactly that far behind the most advanced position known, never further
    /// back than it published itself. <paramref name="flushLagBytes"/> maps node names (the replicas'
    /// application_name) to that lag in bytes; members it does not name are left as published.
    /// </summary>
    public static ClusterView WithMeasuredLag(ClusterView view, IReadOnlyDictionary<string, long> flushLagBytes)
    {
        var members = view.Members;
        foreach (var (name, lag) in flushLagBytes)
        {
            if (view.Members.TryGetValue(name, out var m) && m is { Role: NodeRole.Replica, WalPosition: { } published })
            {
                var reference = Eligibility.ReferencePosition(view, AsCandidate(m));
                members = members.SetItem(name, m with { WalPosition = Math.Max(published, reference - Math.Max(0, lag)) });
            }
        }
        return view with { Members = members };
    }

    /// <summary>
    /// The flush lag per node for <see cref="WithMeasuredLag"/>, from the leader's pg_stat_replication
    /// rows (name, state, flush lag). Only walsenders in state "streaming" count: one in startup,
    /// catchup or backup may have no flush position yet (NULL, which the snapshot reads as 0 bytes of
    /// lag), so a replica that reconnected far behind would look caught up. A name on several rows (a
    /// replica reconnecting while its old walsender lingers, pg_basebackup's two connections, another
    /// replication client using a node's name) gets the largest lag, never the smallest.
    /// </summary>
    public static IReadOnlyDictionary<string, long> MeasuredFlushLag(IEnumerable<(string Name, string? State, long FlushLagBytes)> rows)
    {
        var lag = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, state, bytes) in rows)
        {
            if (state == "streaming")
            {
                lag[name] = lag.TryGetValue(name, out var seen) ? Math.Max(seen, bytes) : bytes;
            }
        }
        return lag;
    }

    /// <summary>The eligible streaming replica with the most WAL (then priority, then name), or null.</summary>
    public static string? BestCandidate(ClusterView view, string? leader, IReadOnlyList<string> nodes) =>
        view.Members.Values
            .Where(m => m.Name != leader && m is { PostgresRunning: true, Role: NodeRole.Replica, State: "streaming" })
            .Select(AsCandidate)
            .Where(c => Eligibility.WhyNot(view, c, nodes) is null)
            .Order(LeadershipCandidate.BestFirst)
            .Select(c => c.Name).FirstOrDefault();

    private static LeadershipCandidate AsCandidate(MemberInfo m) => new(m.Name, m.Timeline, m.WalPosition ?? 0, m.Priority, m.NoFailover);
}
