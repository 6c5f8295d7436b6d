using PgWarden.Core.Dcs;

namespace PgWarden.Core.Ha;

/// <summary>
/// Who may take the leader lease, as pure functions shared by the HA loop and the switchover /
/// failover requests (so a request that would never be carried out is refused up front). A node
/// never leads while anything the DCS knows — the timeline history, the leader's last recorded
/// position, any member — shows a newer timeline than it has; in asynchronous mode it must also be
/// within maximum_lag_on_failover bytes of the most advanced position known on its timeline; in
/// synchronous mode every other node's position must be known (one of them may hold commits it lacks).
/// </summary>
public static class Eligibility
{
    /// <summary>Why <paramref name="candidate"/> may not lead, or null if it may.</summary>
    public static string? WhyNot(ClusterView view, LeadershipCandidate candidate, IReadOnlyList<string> peers)
    {
        if (candidate.NoFailover)
        {
            return "it is tagged nofailover";
        }
        if (NewestTimeline(view, candidate.Name) is { Timeline: var newest, Source: var source } && newest > candidate.Timeline)
        {
            return $"its timeline {candidate.Timeline} is older than timeline {newest} ({source}): it lacks that timeline's writes";
        }
        if (view.Config.SynchronousMode)
        {
            // Commits wait for ANY 1 of the other nodes: an acknowledged commit is on at least one of
            // them, so the most advanced node has them all — if every node's position is known.
            // A node whose position is unknown — no member key, or one being cloned, started or
            // crashed — might be the one holding the last acknowledged commits; one whose data
            // directory is empty holds none.
            // A rewound node that is not consistent yet holds at most its rewind bound.
            var missing = peers.Where(p => p != candidate.Name && !HasKnownPosition(view, p) && !IsFormerLeader(view, p) && !HasNoData(view, p)
                                           && !BoundCovered(view, p, candidate)).ToList();
            return missing.Count > 0
                ? $"synchronous mode is on and the WAL position of {string.Join(", ", missing)} is unknown: it may hold acknowledged commits this node lacks"
                : null;
        }
        var behind = ReferencePosition(view, candidate) - candidate.Position;
        return behind > view.Config.MaximumLagOnFailover
            ? $"it is {behind} bytes behind the most advanced known position, more than maximum_lag_on_failover ({view.Config.MaximumLagOnFailover})"
            : null;
    }

    /// <summary>The member publishes where its WAL ends: a running node, or one stopped cleanly.</summary>
    public static bool HasKnownPosition(ClusterView view, string node) =>
        view.Members.TryGetValue(node, out var m) && m.WalPosition is not null && (m.PostgresRunning || m.CleanlyStopped);

    /// <summary>The member publishes a <see cref="RewindBound"/> that <paramref name="candidate"/>'s position covers.</summary>
    public static bool BoundCovered(ClusterView view, string node, LeadershipCandidate candidate) =>
        view.Members.TryGetValue(node, out var m) && m.HoldsAtMost is { } bound && bound.CoveredBy(candidate.Timeline, candidate.Position);

    /// <summary>The member publishes that its data directory is empty: it holds no commit.</summary>
    public static bool HasNoData(ClusterView view, string node) =>
        view.Members.TryGetValue(node, out var m) && m.HasNoData;

    /// <summary>
    /// Synchronous mode: whether setting <paramref name="node"/>'s data aside (reinit, re-clone) could
    /// lose acknowledged commits — true unless another running replica has received at least as much.
    /// Null when it is safe (or not synchronous mode), else why not.
    /// </summary>
    public static string? WhyNotSetAside(ClusterView view, string node)
    {
        if (!view.Config.SynchronousMode || !view.Members.TryGetValue(node, out var m))
        {
            return null;
        }
        var leader = view.Leader?.Name;
        var mine = m.WalPosition ?? 0;
        return view.Members.Values.Any(o => o.Name != node && o.Name != leader && o is { PostgresRunning: true, Role: NodeRole.Replica } && o.Timeline >= m.Timeline && (o.WalPosition ?? 0) >= mine)
            ? null
            : $"synchronous mode is on and no other replica has received all that {node} has: it may hold the only copy of acknowledged commits";
    }

    /// <summary>The newest timeline the DCS shows outside <paramref name="except"/>, and where it comes from.</summary>
    public static (long Timeline, string Source)? NewestTimeline(ClusterView view, string except)
    {
        var sources = new List<(long, string)>();
        if (view.History.Length > 0)
        {
            var last = view.History[^1];
            sources.Add((last.Timeline, $"the timeline history: {last.NewLeader} promoted"));
        }
        if (view.Optime is { Timeline: > 0 } optime)
        {
            sources.Add((optime.Timeline, "the leader's last recorded position"));
        }
        sources.AddRange(view.Members.Values.Where(m => m.Name != except && m.Timeline > 0).Select(m => (m.Timeline, $"member {m.Name}")));
        return sources.Count == 0 ? null : sources.MaxBy(s => s.Item1);
    }

    /// <summary>The most advanced WAL position known on <paramref name="candidate"/>'s timeline: every member's and the leader's last recorded one.</summary>
    public static long ReferencePosition(ClusterView view, LeadershipCandidate candidate) =>
        view.Members.Values.Where(m => m.Timeline == candidate.Timeline || m.Timeline == 0).Select(m => m.WalPosition ?? 0)
            .Append(view.Optime is { } o && (o.Timeline == candidate.Timeline || o.Timeline == 0) ? o.Position : 0)
            .Append(candidate.Position)
            .Max();

    /// <summary>The node that led last (from the timeline history, else the one that initialised): its position no longer matters once it is gone.</summary>
    public static bool IsFormerLeader(ClusterView view, string node) =>
        view.History.Length > 0 ? view.History[^1].NewLeader == node : view.Initialize == node;

    /// <summary>Members that could lead now: running replicas and cleanly stopped nodes, as candidates.</summary>
    public static IEnumerable<LeadershipCandidate> Candidates(ClusterView view) =>
        view.Members.Values
            .Where(m => (m is { PostgresRunning: true, Role: NodeRole.Replica } || m.CleanlyStopped) && !m.PromotionFailed)
            .Select(m => new LeadershipCandidate(m.Name, m.Timeline, m.WalPosition ?? 0, m.Priority, m.NoFailover));

    /// <summary>The best eligible candidate among the members and <paramref name="self"/> (null: none).</summary>
    public static LeadershipCandidate? Best(ClusterView view, LeadershipCandidate? self, IReadOnlyList<string> peers) =>
        Candidates(view).Where(c => c.Name != self?.Name)
            .Concat(self is null ? [] : [self])
            .Where(c => WhyNot(view, c, peers) is null)
            .Order(LeadershipCandidate.BestFirst)
            .FirstOrDefault();
}
