using PgWarden.Core.Dcs;

namespace PgWarden.Core.Ha;

/// <summary>
/// The HA decision as a pure function of (cluster view from the DCS, local state, now). The agent's
/// loop observes, calls this, acts on the result and logs its reason. Safety rules:
/// a primary stops accepting writes before its lease can expire when it cannot renew it;
/// only the lease holder is a writable primary; when the lease is free, the eligible replica with
/// the most WAL takes it (ties: priority, then name); a replica further behind than
/// maximum_lag_on_failover, tagged nofailover, or not the synchronous standby in synchronous mode,
/// never does.
/// </summary>
public static class HaDecider
{
    /// <summary>Demote when the lease has less than this fraction of its TTL left and could not be renewed.</summary>
    public const double DemoteMarginFraction = 0.35;

    public static HaDecision Decide(ClusterView? view, LocalState local, DateTimeOffset now, TimeSpan ttl)
    {
        if (view is null)
        {
            return DcsUnavailable(local, now, ttl);
        }
        var leader = view.Leader?.Name;
        if (leader == local.Name)
        {
            return OwnLease(view, local);
        }
        if (leader is not null)
        {
            // Ready to rejoin: the leader runs as primary and its control file already shows its new
            // timeline (a checkpoint after promotion) — pg_rewind sees no divergence before that.
            var leaderReady = view.Members.TryGetValue(leader, out var lm) && lm is { PostgresRunning: true, Role: NodeRole.Primary }
                && (local.Timeline == 0 || lm.Timeline > local.Timeline);
            if (local.Role == NodeRole.Primary && !leaderReady)
            {
                // pg_rewind against a leader still finishing its promotion would see no divergence yet.
                return local.PostgresRunning
                    ? new HaDecision.Demote($"{leader} holds the leader lease: stopping writes here while it finishes its promotion")
                    : new HaDecision.Wait($"{leader} holds the leader lease but is not a running primary yet: waiting before rejoining it");
            }
            if (local.PostgresRunning && local.Role == NodeRole.Primary)
            {
                return new HaDecision.Rejoin(leader, $"{leader} holds the leader lease but this node's PostgreSQL is a primary: stopping writes here and rejoining {leader} as a replica");
            }
            if (!local.PostgresRunning && local.Role == NodeRole.Primary)
            {
                return new HaDecision.Rejoin(leader, $"this node was a primary and {leader} leads now: rejoining it with pg_rewind");
            }
            return new HaDecision.Follow(leader, $"following leader {leader}");
        }
        return NoLeader(view, local);
    }

    private static HaDecision DcsUnavailable(LocalState local, DateTimeOffset now, TimeSpan ttl)
    {
        if (local.Role == NodeRole.Primary && local.PostgresRunning)
        {
            if (local.LeaseExpiresAt is not { } expires)
            {
                return new HaDecision.Demote("the DCS is unreachable and this primary holds no lease: stopping writes");
            }
            var left = expires - now;
            if (left <= ttl * DemoteMarginFraction)
            {
                return new HaDecision.Demote($"the DCS is unreachable and the lease could expire in {Math.Max(0, left.TotalSeconds):0.0} s: demoting to read-only before it can");
            }
            return new HaDecision.Wait($"the DCS is unreachable; the lease is safe for {left.TotalSeconds:0.0} s more, still writable");
        }
        return new HaDecision.Wait("the DCS is unreachable: staying read-only and serving reads");
    }

    private static HaDecision OwnLease(ClusterView view, LocalState local)
    {
        if (local.PostgresFailed)
        {
            return new HaDecision.ReleaseLease("PostgreSQL failed and did not come back: releasing the leader lease so a replica takes over now");
        }
        if (view.Failover is { Kind: "switchover", To: { } target } && target != local.Name)
        {
            return new HaDecision.ReleaseLease($"switchover to {target} requested: stepping down");
        }
        if (local.PostgresRunning && local.Role == NodeRole.Replica)
        {
            return new HaDecision.AcquireAndPromote("this node holds the leader lease and its PostgreSQL is a replica: promoting it");
        }
        return new HaDecision.Lead(local.PostgresRunning ? "this node holds the leader lease: renewing it" : "this node holds the leader lease while its PostgreSQL restarts: renewing it");
    }

    private static HaDecision NoLeader(ClusterView view, LocalState local)
    {
        var others = view.Members.Values.Where(m => m.Name != local.Name).ToList();
        var otherPrimary = others.FirstOrDefault(m => m.PostgresRunning && m.Role == NodeRole.Primary && m.Timeline >= local.Timeline);
        if (local.PostgresRunning && local.Role == NodeRole.Primary && !local.PostgresFailed)
        {
            if (otherPrimary is not null)
            {
                return new HaDecision.Demote($"no leader lease and {otherPrimary.Name} is also a primary (timeline {otherPrimary.Timeline}): stopping writes here");
            }
            return new HaDecision.AcquireAndLead("no node holds the leader lease and this node is the running primary: taking the lease");
        }
        if (view.Config.Paused)
        {
            return new HaDecision.Wait("no leader, but the cluster is paused: no automatic failover");
        }
        if (!local.PostgresRunning || local.Role != NodeRole.Replica)
        {
            return new HaDecision.Wait("no leader, and this node's PostgreSQL is not a running replica: not a candidate");
        }
        if (view.Failover is { To: { } wanted } && wanted != local.Name && view.Members.TryGetValue(wanted, out var w) && w.PostgresRunning)
        {
            return new HaDecision.Wait($"no leader; a {view.Failover.Kind} to {wanted} is requested: waiting for it to take over");
        }
        if (Ineligible(view, local) is { } why)
        {
            return new HaDecision.Wait($"no leader, and this node may not take over: {why}");
        }
        if (view.Failover?.To == local.Name)
        {
            return new HaDecision.AcquireAndPromote($"no leader, and a {view.Failover.Kind} to this node is requested: taking over");
        }
        var best = Candidates(view).FirstOrDefault();
        if (best is not null && best.Name != local.Name && (best.WalPosition ?? 0) > (local.WalPosition ?? 0))
        {
            return new HaDecision.Wait($"no leader; {best.Name} has more WAL ({Lsn.Format(best.WalPosition ?? 0)} > {Lsn.Format(local.WalPosition ?? 0)}) and should take over");
        }
        if (best is not null && best.Name != local.Name && (best.WalPosition ?? 0) == (local.WalPosition ?? 0) && Better(best.Priority, best.Name, local.Priority, local.Name))
        {
            return new HaDecision.Wait($"no leader; {best.Name} is as up to date and wins the tie (priority, then name)");
        }
        return new HaDecision.AcquireAndPromote($"no leader, and this node is the most up-to-date eligible replica ({Lsn.Format(local.WalPosition ?? 0)}): taking over");
    }

    private static bool Better(int priorityA, string nameA, int priorityB, string nameB) =>
        priorityA != priorityB ? priorityA > priorityB : string.CompareOrdinal(nameA, nameB) < 0;

    /// <summary>Why this node may not take over, or null if it may.</summary>
    private static string? Ineligible(ClusterView view, LocalState local)
    {
        if (local.NoFailover)
        {
            return "it is tagged nofailover";
        }
        if (view.Config.SynchronousMode)
        {
            // The primary waits for ANY 1 of the other nodes: an acknowledged commit is on at least
            // one replica, so the replica with the most WAL has them all — if every replica's
            // position is known. A replica that is not visible might be the one that has them.
            var missing = local.Peers.Where(p => !view.Members.ContainsKey(p) && !IsFormerLeader(view, p)).ToList();
            if (missing.Count > 0)
            {
                return $"synchronous mode is on and the WAL position of {string.Join(", ", missing)} is unknown: it may hold acknowledged commits this node lacks";
            }
            return null;
        }
        var reference = ReferencePosition(view, local);
        var behind = reference - (local.WalPosition ?? 0);
        if (behind > view.Config.MaximumLagOnFailover)
        {
            return $"it is {behind} bytes behind the most advanced known position, more than maximum_lag_on_failover ({view.Config.MaximumLagOnFailover})";
        }
        return null;
    }

    /// <summary>The node that led last (from the timeline history): its position no longer matters once it is gone.</summary>
    private static bool IsFormerLeader(ClusterView view, string node) =>
        view.History.Length > 0 ? view.History[^1].NewLeader == node : view.Initialize == node;

    /// <summary>The most advanced WAL position known: the leader's last recorded one and every member's.</summary>
    private static long ReferencePosition(ClusterView view, LocalState local) =>
        view.Members.Values.Select(m => m.WalPosition ?? 0).Append(local.WalPosition ?? 0).Append(view.LastLeaderPosition ?? 0).Max();

    /// <summary>Eligible running replicas, best first: most WAL, then priority, then name.</summary>
    private static IEnumerable<MemberInfo> Candidates(ClusterView view) =>
        view.Members.Values
            .Where(m => m.PostgresRunning && m.Role == NodeRole.Replica && !m.NoFailover)
            .Where(m => view.Config.SynchronousMode || ReferencePositionOf(view) - (m.WalPosition ?? 0) <= view.Config.MaximumLagOnFailover)
            .OrderByDescending(m => m.WalPosition ?? 0).ThenByDescending(m => m.Priority).ThenBy(m => m.Name, StringComparer.Ordinal);

    private static long ReferencePositionOf(ClusterView view) => view.Members.Values.Select(m => m.WalPosition ?? 0).Append(view.LastLeaderPosition ?? 0).Max();
}
