using PgWarden.Core.Dcs;

namespace PgWarden.Core.Ha;

/// <summary>
/// The HA decision as a pure function of (cluster view from the DCS, local state, now). The agent's
/// loop observes, calls this, acts on the result and logs its reason. Safety rules:
/// only the lease holder runs a writable primary, and a primary that cannot renew stops writes
/// before its lease can expire (the watchdog fences it even when the agent cannot run);
/// a node never takes the lease while the DCS shows a newer timeline or it is not the most
/// advanced eligible node (<see cref="Eligibility"/>); a switchover hands the lease over only after
/// the target has received the old primary's shutdown checkpoint, and a request that cannot
/// complete by its deadline is dropped, leaving the old leader (or the best node) in charge;
/// a node whose WAL left the leader's history is rewound before it follows.
/// </summary>
public static class HaDecider
{
    /// <summary>Demote when the DCS is unreachable and the lease has less than this fraction of its TTL left (or less than <see cref="LeaseTiming.DemoteMargin"/>, whichever is more).</summary>
    public const double DemoteMarginFraction = 0.35;

    /// <param name="loopWait">The time between cycles (1 s unless given): the demotion margin leaves room for one more cycle.</param>
    public static HaDecision Decide(ClusterView? view, LocalState local, DateTimeOffset now, TimeSpan ttl, TimeSpan? loopWait = null)
    {
        if (view is null)
        {
            return DcsUnavailable(local, ttl, loopWait ?? TimeSpan.FromSeconds(1));
        }
        // A scheduled switchover counts from its time on (Patroni's scheduled_at); before that it only waits.
        var request = view.Failover is { } f && f.IsActive(now) && f.IsDue(now) ? f : null;
        var scheduled = view.Failover is { } w && w.IsWaiting(now) ? w : null;
        var leader = view.Leader?.Name;
        if (leader == local.Name)
        {
            return OwnLease(local, request, scheduled);
        }
        if (local.PostgresRunning && local.Role == NodeRole.Primary)
        {
            return leader is null
                ? RunningPrimaryWithoutLeader(view, local)
                : new HaDecision.Demote(false, $"{leader} holds the leader lease but this node's PostgreSQL is a writable primary: stopping it now");
        }
        if (local.Busy is { } busy)
        {
            return new HaDecision.Wait($"{busy} (running beside the HA loop)");
        }
        if (local.Data == LocalDataState.Empty)
        {
            return EmptyDataDirectory(view, local);
        }
        return leader is null ? NoLeader(view, local, request) : OtherLeader(view, local, leader);
    }

    private static HaDecision DcsUnavailable(LocalState local, TimeSpan ttl, TimeSpan loopWait)
    {
        if (local.PostgresRunning && local.Role == NodeRole.Primary)
        {
            if (local.LeaseRemaining is not { } left)
            {
                return new HaDecision.Demote(true, "the DCS is unreachable and this primary holds no lease: stopping writes");
            }
            if (left <= LeaseTiming.DemoteMargin(ttl, loopWait))
            {
                return new HaDecision.Demote(true, $"the DCS is unreachable and the lease could expire in {Math.Max(0, left.TotalSeconds):0.0} s: demoting to read-only before it can");
            }
            if (local is { LagLimit: > 0, UnrecordedWal: { } unrecorded } && unrecorded > local.LagLimit)
            {
                return new HaDecision.Demote(true, $"the DCS is unreachable and this primary has written {unrecorded} bytes of WAL beyond the position it last recorded there, more than maximum_lag_on_failover ({local.LagLimit}): stopping writes so that a failover cannot lose more");
            }
            return new HaDecision.Wait($"the DCS is unreachable; the lease is safe for {left.TotalSeconds:0.0} s more, still writable");
        }
        if (local.Busy is null && local.Data == LocalDataState.Standby && local.Postmaster is PostmasterState.Stopped or PostmasterState.Crashed && !local.PostgresFailed)
        {
            return new HaDecision.StartReplica(local.Upstream, "the DCS is unreachable: starting PostgreSQL read-only to serve reads");
        }
        return new HaDecision.Wait("the DCS is unreachable: staying read-only and serving reads");
    }

    private static HaDecision OwnLease(LocalState local, FailoverRequest? request, FailoverRequest? scheduled)
    {
        if (local.Busy is { } busy)
        {
            return new HaDecision.Lead($"holding the leader lease while {busy}");
        }
        if (local.PostgresFailed)
        {
            return new HaDecision.ReleaseLease("PostgreSQL failed and did not come back: releasing the leader lease so a replica takes over now");
        }
        if (local.Data == LocalDataState.Empty)
        {
            return new HaDecision.ReleaseLease("this node holds the leader lease but its data directory is empty: releasing it");
        }
        if (request is { Kind: FailoverKind.Switchover, To: { } target } && target != local.Name
            && local is { PostgresRunning: true, Role: NodeRole.Primary }
            // A scheduled switchover belongs to the leader it was scheduled on (Patroni: "leader name does not match").
            && (request.ScheduledAt is null || request.From is null || request.From == local.Name))
        {
            return new HaDecision.HandOver(target, $"switchover to {target} requested: stopping cleanly and handing the lease over once {target} has every WAL record");
        }
        if (local.PostgresRunning && local.Role == NodeRole.Replica)
        {
            return new HaDecision.AcquireAndPromote("this node holds the leader lease and its PostgreSQL is a replica: promoting it");
        }
        if (local is { RestartRequested: true, PostgresRunning: true, Role: NodeRole.Primary })
        {
            return new HaDecision.Restart(null, "a restart was requested: restarting this primary's PostgreSQL in place (fast shutdown), keeping the leader lease");
        }
        if (!local.PostgresRunning && local.Data == LocalDataState.Standby && local.Postmaster != PostmasterState.NotAnswering)
        {
            return new HaDecision.StartReplica(null, "this node holds the leader lease but its PostgreSQL is a stopped replica: starting it to promote it");
        }
        if (scheduled is not null && local.PostgresRunning)
        {
            return new HaDecision.Lead($"this node holds the leader lease: renewing it; a {scheduled.Describe()} waits for its time");
        }
        return new HaDecision.Lead(local.PostgresRunning ? "this node holds the leader lease: renewing it"
            : local.Postmaster == PostmasterState.NotAnswering ? "this node holds the leader lease; its PostgreSQL does not answer (fenced if it stays hung)"
            : "this node holds the leader lease while its PostgreSQL restarts: renewing it");
    }

    private static HaDecision RunningPrimaryWithoutLeader(ClusterView view, LocalState local)
    {
        // A key gone before its lease could expire was taken away (released, revoked): the replicas see
        // no leader now and may already be promoting, so racing them for the key while writable could
        // leave two primaries. Stop writes first; as a replica this node can still win the election.
        // (Patroni likewise demotes a leader whose key update fails: ha.py, process_healthy_cluster.)
        // Paused, no replica takes over without a leader (NoLeader waits) unless a failover to it was
        // requested: nobody races this primary, and demoting it would leave no primary until resume.
        if (local.LeaseLeftWhenKeyVanished is { } left
            && (!view.Config.Paused || view.Failover is { To: { } to } && to != local.Name))
        {
            return new HaDecision.Demote(true, $"the leader key vanished while this node's lease had {left.TotalSeconds:0.0} s left (deleted or revoked, not expired): stopping writes at once instead of racing the replicas for it");
        }
        if (local.PostgresFailed)
        {
            return new HaDecision.Wait("no leader; this node's PostgreSQL failed");
        }
        if (Eligibility.WhyNot(view, Self(local), local.Peers) is { } why)
        {
            return new HaDecision.Demote(true, $"no leader lease, and this primary may not lead: {why}; stopping writes");
        }
        if (Eligibility.Best(view, Self(local), local.Peers) is { } best && best.Name != local.Name)
        {
            return new HaDecision.Demote(true, $"no leader lease, and {best.Name} is further ahead (timeline {best.Timeline}, {Lsn.Format(best.Position)}): stopping writes here");
        }
        return new HaDecision.AcquireAndLead("no node holds the leader lease and this node is the running primary: taking the lease");
    }

    private static HaDecision EmptyDataDirectory(ClusterView view, LocalState local)
    {
        if (view.Leader?.Name is { } leader && LeaderRunsPrimary(view, leader))
        {
            return new HaDecision.CloneLeader(leader, $"data directory is empty and {leader} leads: cloning it");
        }
        if (view.Initialize is null && local.MayInitialize)
        {
            return new HaDecision.Initialize("data directory is empty and nobody initialised the cluster: this node runs initdb");
        }
        return new HaDecision.Wait(view.Initialize is null
            ? "data directory is empty and the cluster is not initialised yet: waiting for the bootstrap node to initialise it"
            : $"data directory is empty: waiting for a running leader to clone from (cluster initialised by {view.Initialize})");
    }

    private static HaDecision OtherLeader(ClusterView view, LocalState local, string leader)
    {
        var leaderPrimary = LeaderRunsPrimary(view, leader);
        var lm = view.Members.GetValueOrDefault(leader);
        // pg_rewind compares control files: before the new primary's first checkpoint its control
        // file still shows the old timeline and pg_rewind would see no divergence.
        var readyForRewind = leaderPrimary && lm!.CheckpointTimeline >= lm.Timeline && lm.Timeline > local.Timeline;
        if (local.Data == LocalDataState.Primary && !local.PostgresRunning)
        {
            if (local.Postmaster == PostmasterState.NotAnswering)
            {
                return new HaDecision.Wait($"{leader} leads; this node's PostgreSQL does not answer");
            }
            if (leaderPrimary && local is { CleanShutdown: true, DivergedFromLeader: false })
            {
                return new HaDecision.StartReplica(leader, $"this cleanly stopped former primary's WAL is part of {leader}'s history: starting as its replica (nothing to rewind)");
            }
            if (leaderPrimary && local is { CleanShutdown: true, DivergedFromLeader: null })
            {
                return new HaDecision.Wait($"this node was a primary, stopped cleanly, and {leader} leads now: reading {leader}'s timeline history to see whether pg_rewind is needed");
            }
            return readyForRewind
                ? new HaDecision.Rejoin(leader, $"this node was a primary and {leader} leads now: rejoining it with pg_rewind")
                : new HaDecision.Wait($"this node was a primary and {leader} leads now: waiting until {leader} runs as primary and has checkpointed its new timeline before pg_rewind");
        }
        if (!local.PostgresRunning)
        {
            if (local.Postmaster == PostmasterState.NotAnswering)
            {
                return new HaDecision.Wait($"{leader} leads; this node's PostgreSQL does not answer");
            }
            if (local.StartFailures >= 5 && leaderPrimary)
            {
                return Eligibility.WhyNotSetAside(view, local.Name) is { } keep
                    ? new HaDecision.Wait($"it failed to start as a replica {local.StartFailures} times, but is not re-cloned: {keep}")
                    : new HaDecision.Reclone(leader, $"it failed to start as a replica {local.StartFailures} times: re-cloning {leader}");
            }
            return new HaDecision.StartReplica(leaderPrimary ? leader : null, leaderPrimary
                ? $"starting PostgreSQL as a replica of {leader}"
                : $"{leader} holds the lease but does not run as primary yet: starting read-only until it does");
        }
        if (!leaderPrimary)
        {
            return new HaDecision.Wait($"{leader} holds the leader lease and is becoming primary: following it once it runs as one");
        }
        if (local.ReinitRequested)
        {
            return Eligibility.WhyNotSetAside(view, local.Name) is { } keep
                ? new HaDecision.Wait($"re-initialisation requested but not carried out: {keep}")
                : new HaDecision.Reclone(leader, $"re-initialising from {leader} on request");
        }
        if (local.DivergedFromLeader == true)
        {
            return readyForRewind || lm!.CheckpointTimeline >= lm.Timeline
                ? new HaDecision.Rejoin(leader, $"this replica's WAL left {leader}'s timeline history: rewinding it with pg_rewind")
                : new HaDecision.Wait($"this replica's WAL left {leader}'s timeline history: waiting for {leader}'s checkpoint before pg_rewind");
        }
        if (local.StreamingStalled)
        {
            return Eligibility.WhyNotSetAside(view, local.Name) is { } keep
                ? new HaDecision.Wait($"this replica has not streamed from {leader} for a long time, but is not re-cloned: {keep}")
                : new HaDecision.Reclone(leader, $"this replica has not streamed from {leader} for a long time although {leader} answers as primary (the WAL it needs may be gone): re-cloning it");
        }
        if (local.RestartRequested)
        {
            return new HaDecision.Restart(leader, $"a restart was requested: restarting this replica (fast shutdown) and streaming from {leader} again");
        }
        if (local.HotStandbyShortfall is { } shortfall)
        {
            return new HaDecision.RestartReplica(leader, $"its hot-standby settings are below what the WAL requires ({shortfall}): restarting it with them");
        }
        return new HaDecision.Follow(leader, local.Upstream == leader ? $"following leader {leader}" : $"repointing replication to the new leader {leader}");
    }

    private static HaDecision NoLeader(ClusterView view, LocalState local, FailoverRequest? request)
    {
        if (!local.PostgresRunning)
        {
            return StoppedWithoutLeader(view, local, request);
        }
        if (local.Role != NodeRole.Replica)
        {
            return new HaDecision.Wait("no leader, and this node's PostgreSQL is not a running replica: not a candidate");
        }
        var self = Self(local);
        if (request is { To: { } wanted })
        {
            if (wanted == local.Name)
            {
                return Eligibility.WhyNot(view, self, local.Peers) is { } refused
                    ? new HaDecision.Wait($"no leader; a {request.Describe()} is requested but this node may not take over: {refused}")
                    : new HaDecision.AcquireAndPromote($"no leader, and a {request.Describe()} is requested: taking over");
            }
            if (view.Members.TryGetValue(wanted, out var w) && w.PostgresRunning)
            {
                return new HaDecision.Wait($"no leader; a {request.Describe()} is requested: waiting for it to take over");
            }
        }
        if (view.Config.Paused)
        {
            return new HaDecision.Wait("no leader, but the cluster is paused: no automatic failover");
        }
        if (local.PromotionFailed)
        {
            return new HaDecision.Wait("no leader, but this node's last promotion failed: leaving the lease to another node for a while");
        }
        if (Eligibility.WhyNot(view, self, local.Peers) is { } why)
        {
            return new HaDecision.Wait($"no leader, and this node may not take over: {why}");
        }
        var best = Eligibility.Best(view, self, local.Peers)!;
        if (best.Name != local.Name)
        {
            return new HaDecision.Wait($"no leader; {best.Name} is further ahead or wins the tie (timeline {best.Timeline}, {Lsn.Format(best.Position)}; priority, then name) and should take over");
        }
        return new HaDecision.AcquireAndPromote($"no leader, and this node is the most up-to-date eligible one (timeline {local.Timeline}, {Lsn.Format(local.WalPosition ?? 0)}): taking over");
    }

    private static HaDecision StoppedWithoutLeader(ClusterView view, LocalState local, FailoverRequest? request)
    {
        if (local.Postmaster == PostmasterState.NotAnswering)
        {
            return new HaDecision.Wait("no leader; this node's PostgreSQL does not answer");
        }
        if (local.PostgresFailed)
        {
            // A failed node is left down so that a replica takes over. When none may (the failed node
            // was promoted to a timeline the others lack, so each of them is refused), waiting would
            // leave the cluster without a primary for good: it comes back read-only (crash recovery
            // replays its WAL; the agent waits a growing recovery delay first) and the election then
            // decides as for any replica. Read-only, it cannot be a second writable primary.
            if (!AnotherNodeMayLead(view, local))
            {
                return new HaDecision.StartReplica(null, "no leader, and no other node may take over: starting this node's failed PostgreSQL read-only again (after its recovery delay) so the cluster can elect a leader");
            }
            return new HaDecision.Wait("no leader; this node's PostgreSQL failed and is not restarted while another node may take over");
        }
        if (local is { Data: LocalDataState.Primary, CleanShutdown: true } && (request?.To is null || request.To == local.Name))
        {
            var self = Self(local);
            var mayWhilePaused = !view.Config.Paused || Eligibility.IsFormerLeader(view, local.Name);
            if (mayWhilePaused && Eligibility.WhyNot(view, self, local.Peers) is null && Eligibility.Best(view, self, local.Peers)?.Name == local.Name)
            {
                return new HaDecision.AcquireAndStartPrimary($"no leader, and this cleanly stopped primary is the most up-to-date node (timeline {local.Timeline}, {Lsn.Format(local.WalPosition ?? 0)}): taking the lease and starting it writable");
            }
        }
        return new HaDecision.StartReplica(null, local.Data == LocalDataState.Primary
            ? "no leader: starting this former primary read-only (its WAL replayed to the end) to find its position before any node takes over"
            : "no leader: starting PostgreSQL read-only until a leader is chosen");
    }

    /// <summary>Some other member is a running replica or cleanly stopped node that may take the lease now.</summary>
    private static bool AnotherNodeMayLead(ClusterView view, LocalState local) =>
        Eligibility.Candidates(view).Any(c => c.Name != local.Name && Eligibility.WhyNot(view, c, local.Peers) is null);

    /// <summary>The leader runs as a writable primary and has created every replica's slot (so a replica pointed at it never meets "slot does not exist").</summary>
    private static bool LeaderRunsPrimary(ClusterView view, string leader) =>
        view.Members.TryGetValue(leader, out var m) && m is { PostgresRunning: true, Role: NodeRole.Primary, SlotsReady: true };

    private static LeadershipCandidate Self(LocalState local) =>
        new(local.Name, local.Timeline, local.WalPosition ?? 0, local.Priority, local.NoFailover);
}
