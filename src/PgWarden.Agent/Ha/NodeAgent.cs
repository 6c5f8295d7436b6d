using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Ha;

/// <summary>
/// The HA loop of one node, one cycle at a time: observe (the DCS, the postmaster, the data
/// directory), decide (the pure <see cref="HaDecider"/>), act (lease operations at once; PostgreSQL
/// changes as a long action beside the loop, see <see cref="RoleTransitions"/>), publish (the member
/// key). The lease is renewed by the loop only, and only while the decider finds the node fit to
/// lead; each renewal moves the watchdog's fence, which stops the primary when renewals stop for
/// whatever reason. <see cref="NodeAgentService"/> runs the cycles; tests call <see cref="RunCycleAsync"/>.
/// </summary>
public sealed class NodeAgent
{
    /// <summary>A cleanly stopped primary's WAL ends within one WAL page after its shutdown checkpoint's start.</summary>
    private const long WalPageSize = 8192;

    private readonly ClusterConfig _cluster;
    private readonly NodeConfig _node;
    private readonly IDcs _dcs;
    private readonly IPostgresNode _pg;
    private readonly IWatchdog _watchdog;
    private readonly TimeProvider _clock;
    private readonly NodeState _state;
    private readonly AgentEvents _events;
    private readonly ActionRunner _actions;
    private readonly DivergenceCheck _divergence;
    private readonly long _startedAt;
    private LocalDataState _data = LocalDataState.Empty;
    private ControlData? _control;
    private RewindBound? _rewindBound;
    private (int? Postmaster, int? Startup)? _replayedOwnWal;
    private string? _lastReason;
    private long _timelineLimit;
    private long? _lastRecordedPosition;
    private long? _promotionFailedAt;

    /// <summary>After a failed promotion the node leaves the lease to others this long.</summary>
    public static readonly TimeSpan PromotionBackoff = TimeSpan.FromSeconds(60);

    private bool PromotionFailedRecently => _promotionFailedAt is { } at && _clock.GetElapsedTime(at) < PromotionBackoff;
    private int _cycle;
    private (int Pid, long Timeline) _replicaTimeline;
    private long? _notStreamingSince;

    /// <summary>A running replica is checked for divergence only after it has not streamed for this long (one that streams is fine by definition).</summary>
    public static readonly TimeSpan DivergenceCheckAfter = TimeSpan.FromSeconds(5);

    /// <summary>A replica that has not streamed for this long, with its leader answering as primary and no divergence found, is re-cloned.</summary>
    public static readonly TimeSpan StalledAfter = TimeSpan.FromSeconds(60);

    private readonly LeaderProbe _leaderProbe;

    public NodeAgent(ClusterConfig cluster, NodeConfig node, IDcs dcs, IPostgresNode pg, IPeerNodes peers, IWatchdog watchdog, TimeProvider clock, NodeState state, AgentEvents events)
    {
        _cluster = cluster;
        _node = node;
        _dcs = dcs;
        _pg = pg;
        _watchdog = watchdog;
        _clock = clock;
        _state = state;
        _events = events;
        _startedAt = clock.GetTimestamp();
        Lease = new LeaseKeeper(dcs, node.Name, watchdog, clock);
        Postmaster = new PostmasterSupervisor(pg, watchdog, clock, events);
        Roles = new RoleTransitions(cluster, node, pg, Postmaster, Lease, dcs, peers, watchdog, clock, events);
        _actions = new ActionRunner((name, e) => events.Failed($"{name} failed: {e.Message}"), state.Wake);
        Roles.Progressed = state.Wake;
        _divergence = new DivergenceCheck(peers, events.Failed);
        _leaderProbe = new LeaderProbe(peers, clock);
        state.LeaseRemaining = () => Lease.Remaining;
        _reloader = new ConfigurationReloader(Postmaster, state, events);
    }

    private readonly ConfigurationReloader _reloader;

    /// <summary>The lease time left when the leader key was seen gone (not expired), until a leader key shows again or this node demoted.</summary>
    private TimeSpan? _keyVanishedWithLeaseLeft;

    public LeaseKeeper Lease { get; }

    public PostmasterSupervisor Postmaster { get; }

    public RoleTransitions Roles { get; }

    /// <summary>The cluster as last read from the DCS (null before the first successful read).</summary>
    public ClusterView? LastView { get; private set; }

    /// <summary>The long action running beside the loop, if any.</summary>
    public string? Busy => _actions.Current;

    private DcsConfig Config => LastView?.Config ?? _cluster.Dcs.Initial;

    public TimeSpan Ttl => TimeSpan.FromSeconds(Config.Ttl);

    public TimeSpan LoopWait => TimeSpan.FromSeconds(Config.LoopWait);

    /// <summary>No leader, or a switchover/failover requested: the service runs cycles every 200 ms then.</summary>
    public bool LeadershipChanging => LastView is { Leader: null } || LastView?.Failover is { } f && !f.IsWaiting(_clock.GetUtcNow()) || Busy is not null;

    /// <summary>One HA cycle: observe, decide, act, publish. Returns the decision.</summary>
    public async Task<HaDecision> RunCycleAsync(CancellationToken ct)
    {
        _cycle++;
        _actions.Collect();
        var view = await TryReadAsync(ct);
        if (view is not null)
        {
            Postmaster.Parameters = view.Config.Parameters;
        }
        await Postmaster.ObserveAsync(ct);
        if (view is not null && view.Leader?.Name != _node.Name)
        {
            // Remembered until a leader key shows again or the demotion is done: the cycle that sees the
            // key gone may not see a running primary (a status check timed out, an in-place restart),
            // and forgetting the lease below would otherwise lose the signal for the next cycle.
            if (view.Leader is null && Lease.Remaining is not null && _keyVanishedWithLeaseLeft is null && _dcs.HeldLeaderLease is var held and not 0)
            {
                // Who took the key away is not in the view: etcd says whether the lease itself went
                // (revoked or expired) or only the key (a delete), for the log.
                _ = DescribeVanishedLeaseAsync(held);
            }
            _keyVanishedWithLeaseLeft = view.Leader is null ? Lease.Remaining ?? _keyVanishedWithLeaseLeft : null;
            Lease.Forget();
            // A hand-over owed after crashes belongs to the leadership it was set in.
            Roles.HandOverAfterCrashesSince = null;
        }
        else if (view is not null)
        {
            _keyVanishedWithLeaseLeft = null;
        }
        LocalState local;
        try
        {
            local = await ObserveLocalAsync(view, ct) with { LeaseLeftWhenKeyVanished = _keyVanishedWithLeaseLeft };
        }
        catch (PgWardenException e) when (e.ExitCode != ExitCodes.UnsafeRefused)
        {
            // pg_controldata failing for a moment (a data directory being replaced, say) is not a
            // reason to stop supervising; a data directory that is not this node's is.
            var wait = new HaDecision.Wait($"could not read this node's data directory: {e.Message}");
            Decided(wait.Reason);
            return wait;
        }
        // The demote margin is a fraction of the TTL the held lease really has (a changed ttl applies to the next lease).
        var decision = HaDecider.Decide(view, local, _clock.GetUtcNow(), Lease.GrantedTtl ?? Ttl, LoopWait);
        Decided(decision.Reason);
        try
        {
            await ActAsync(decision, view, local, ct);
            if (decision is HaDecision.Demote)
            {
                _keyVanishedWithLeaseLeft = null;
            }
        }
        catch (DcsUnavailableException e)
        {
            _state.Update(s => s with { DcsError = e.Message });
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // One failed action must not take the agent down: report it and decide again next cycle.
            _events.Failed($"{decision.GetType().Name} failed: {e.Message}");
        }
        if (view is not null && Busy is null && Postmaster.State == PostmasterState.Running)
        {
            await ApplySynchronousModeAsync(ct);
        }
        if (Busy is null)
        {
            await _reloader.RunAsync(ct);
        }
        SyncWatchdog();
        SyncTimelineLimit(view, local);
        Publish(view, local);
        if (view is not null)
        {
            await PublishMemberAsync(local, ct);
        }
        return decision;
    }

    /// <summary>Completes when no long action and no history fetch runs (tests, shutdown).</summary>
    public async Task WhenIdleAsync()
    {
        await _actions.WhenIdleAsync();
        await _divergence.WhenFetchedAsync();
        await _leaderProbe.WhenDoneAsync();
    }

    /// <summary>
    /// A clean stop of the agent: PostgreSQL stopped (fast shutdown), then the lease given up so a replica
    /// takes over at once. While the stop runs (the shutdown checkpoint, the WAL senders sending what is
    /// left), a held lease is renewed every loop_wait (<see cref="KeepLeaseWhileStoppingAsync"/>): otherwise
    /// the fence killed a primary whose shutdown took longer than the lease's fence deadline, before its
    /// replicas had the last WAL (hostile review 17).
    /// </summary>
    public async Task ShutdownAsync()
    {
        using (var stopped = new CancellationTokenSource())
        {
            var renewing = Lease.Held ? KeepLeaseWhileStoppingAsync(stopped.Token) : Task.CompletedTask;
            try
            {
                await Postmaster.StopAsync(ShutdownMode.Fast);
            }
            finally
            {
                await stopped.CancelAsync();
                await renewing;
            }
        }
        _watchdog.Disarm();
        // The limit is an instruction of a running agent; a restore of this node must not inherit it.
        _pg.SetTimelineLimit(0);
        if (Lease.Held)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await Lease.ReleaseAsync(timeout.Token);
            }
            catch (Exception e) when (e is DcsUnavailableException or OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// Renews the held lease every loop_wait until <paramref name="stopped"/> (PostgreSQL is down) or the
    /// lease is lost: a renewal the DCS refuses or does not answer in time leaves the fence deadline where
    /// it was, so a primary cut off from the DCS is still fenced before its lease can expire.
    /// </summary>
    private async Task KeepLeaseWhileStoppingAsync(CancellationToken stopped)
    {
        while (Lease.Held && !stopped.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(LoopWait, _clock, stopped);
                if (!await Lease.RenewAsync(Ttl, stopped))
                {
                    _events.Failed("the leader lease was lost while PostgreSQL was stopping");
                    return;
                }
            }
            catch (OperationCanceledException) when (stopped.IsCancellationRequested)
            {
                return;
            }
            catch (DcsUnavailableException e)
            {
                _events.Info($"could not renew the lease while PostgreSQL was stopping: {e.Message}");
            }
        }
    }

    private async Task<ClusterView?> TryReadAsync(CancellationToken ct)
    {
        try
        {
            var view = await _dcs.ReadAsync(ct);
            LastView = view;
            _state.View = view;
            _state.Update(s => s with { DcsError = null });
            return view;
        }
        catch (DcsUnavailableException e)
        {
            _state.Update(s => s with { DcsError = e.Message });
            return null;
        }
    }

    private async Task<LocalState> ObserveLocalAsync(ClusterView? view, CancellationToken ct)
    {
        var status = Postmaster.State == PostmasterState.Running ? Postmaster.Status : null;
        if (status is not { InRecovery: true } || Postmaster.Pid != _replicaTimeline.Pid)
        {
            // A new postmaster (or none, or a primary) starts its streaming record afresh.
            _notStreamingSince = null;
        }
        long timeline = 0;
        long? position = null;
        var clean = false;
        var role = NodeRole.Unknown;
        if (status is not null)
        {
            if (_rewindBound is not null)
            {
                // Consistent: it reports its own position from now on.
                _pg.ForgetRewindBound();
                _rewindBound = null;
            }
            _data = status.InRecovery ? LocalDataState.Standby : LocalDataState.Primary;
            role = status.InRecovery ? NodeRole.Replica : NodeRole.Primary;
            timeline = status.InRecovery ? ReplicaTimeline(status) : status.Timeline;
            // A replica still replaying the WAL in its own pg_wal (crash recovery of a standby, before any
            // streaming) holds more than it replayed so far: its position is unknown until it is done. Done
            // once seen waiting for WAL (or streaming): from then on new WAL comes from elsewhere, also while
            // a later sample catches the startup process running restore_command.
            // Keyed on the startup process too: after a backend crash the same postmaster reinitialises
            // (restart_after_crash) and a new startup process replays its own pg_wal again.
            var startup = (Postmaster.Pid, status.StartupPid);
            if (status.InRecovery && !status.MayStillReplayLocalWal)
            {
                _replayedOwnWal = startup;
            }
            position = status.InRecovery
                ? _replayedOwnWal != startup ? null : Max(Lsn.ParseOrNull(status.ReceiveLsn), Lsn.ParseOrNull(status.ReplayLsn))
                : Lsn.ParseOrNull(status.CurrentLsn);
        }
        else if (Busy is null && Postmaster.State is not PostmasterState.NotAnswering)
        {
            _data = await _pg.InspectAsync(ct);
            _control = _data == LocalDataState.Empty ? null : await _pg.ReadControlDataAsync(ct);
            _rewindBound = _data == LocalDataState.Empty ? null : _pg.ReadRewindBound();
            if (_control is { } control)
            {
                timeline = control.CheckpointTimeline;
                clean = _data == LocalDataState.Primary && control.CleanPrimaryShutdown;
                position = clean ? control.CheckpointLsn + WalPageSize : null;
            }
        }
        else
        {
            // Busy or not answering: a start that streams from a leader forgot the bound file (it may
            // acknowledge WAL beyond the bound before it is consistent), so the file decides, not the memory.
            if (_rewindBound is not null)
            {
                _rewindBound = _pg.ReadRewindBound();
            }
            if (_control is { } known)
            {
                timeline = known.CheckpointTimeline;
            }
        }
        var leader = view?.Leader?.Name is { } l && l != _node.Name ? view.Members.GetValueOrDefault(l) : null;
        return new LocalState(_node.Name)
        {
            Data = _data,
            Postmaster = Postmaster.State,
            Role = role,
            Timeline = timeline,
            WalPosition = position,
            CleanShutdown = clean,
            LeaseRemaining = Lease.Remaining,
            PostgresFailed = Postmaster.Failed,
            NoFailover = _node.NoFailover,
            Priority = _node.Priority,
            Peers = [.. _cluster.Nodes.Where(n => n.Name != _node.Name).Select(n => n.Name)],
            MayInitialize = MayInitialize(view),
            Busy = Busy,
            Upstream = Postmaster.Upstream?.Name,
            DivergedFromLeader = leader is null ? null : Diverged(leader, status, timeline, clean),
            ReinitRequested = _state.ReinitPending,
            RestartRequested = _state.RestartPending,
            StartFailures = Postmaster.StartFailures,
            HotStandbyShortfall = status is { InRecovery: true, HotStandby: { } mine } && leader?.HotStandby is { } needed && !mine.Covers(needed)
                ? mine.ShortfallAgainst(needed)
                : null,
            UnrecordedWal = Lease.Held && status is { InRecovery: false } && _lastRecordedPosition is { } recorded && position is { } now ? Math.Max(0, now - recorded) : null,
            LagLimit = Config.SynchronousMode ? 0 : Config.MaximumLagOnFailover,
            PromotionFailed = PromotionFailedRecently,
            StreamingStalled = leader is not null && status is { InRecovery: true } && _notStreamingSince is { } since
                && _clock.GetElapsedTime(since) >= StalledAfter && _leaderProbe.AnswersAsPrimary(_cluster.Node(leader.Name)),
        };
    }

    /// <summary>
    /// A replica's timeline: the newest it was seen on since its postmaster started — its last
    /// restartpoint's, or the one its WAL receiver received. A replica that replayed into the leader's
    /// timeline but stopped receiving (and made no restartpoint since) would otherwise look as if it
    /// were still on the old one.
    /// </summary>
    private long ReplicaTimeline(PgWarden.Postgres.Sql.NodeStatusReader.Snapshot status)
    {
        var pid = Postmaster.Pid ?? 0;
        _replicaTimeline = _replicaTimeline.Pid == pid ? (pid, Math.Max(_replicaTimeline.Timeline, status.Timeline)) : (pid, status.Timeline);
        return _replicaTimeline.Timeline;
    }

    private bool? Diverged(MemberInfo leader, PgWarden.Postgres.Sql.NodeStatusReader.Snapshot? status, long timeline, bool clean)
    {
        if (leader is not { PostgresRunning: true, Role: NodeRole.Primary })
        {
            return null;
        }
        if (status is { InRecovery: true })
        {
            // A replica that streams has not diverged; one that has not streamed for a while is checked.
            if (status.WalReceiverStatus == "streaming")
            {
                _notStreamingSince = null;
                return false;
            }
            _notStreamingSince ??= _clock.GetTimestamp();
            if (_clock.GetElapsedTime(_notStreamingSince.Value) < DivergenceCheckAfter)
            {
                return null;
            }
        }
        var position = status is { InRecovery: true } ? Lsn.ParseOrNull(status.ReplayLsn) : clean ? _control?.CheckpointLsn : null;
        var diverged = _divergence.Diverged(_cluster.Node(leader.Name), leader.Timeline, timeline, position);
        // A stopped former primary that cannot learn the leader's history is rewound: pg_rewind reads it itself.
        return diverged is null && status is null && _divergence.LastFetchFailed ? true : diverged;
    }

    /// <summary>The first configured node initialises a new cluster; another may only if that one's agent has not shown up for a minute.</summary>
    private bool MayInitialize(ClusterView? view) =>
        _node.Name == _cluster.BootstrapNode.Name
        || view is not null && !view.Members.ContainsKey(_cluster.BootstrapNode.Name) && _clock.GetElapsedTime(_startedAt) > TimeSpan.FromMinutes(1);

    private async Task DescribeVanishedLeaseAsync(long lease)
    {
        try
        {
            if (_dcs is ILeaseInspector inspector && await inspector.DescribeLeaseAsync(lease, CancellationToken.None) is { } what)
            {
                _events.Info($"the leader key vanished: {what}");
            }
        }
        catch (Exception e) when (e is DcsUnavailableException or OperationCanceledException)
        {
            _events.Info($"the leader key vanished; lease {lease:x} could not be read: {e.Message}");
        }
    }

    private async Task ActAsync(HaDecision decision, ClusterView? view, LocalState local, CancellationToken ct)
    {
        NodeConfig Node(string name) => _cluster.Node(name);
        HotStandbySettings? LeaderSettings(string? leader) => leader is null ? null : view?.Members.GetValueOrDefault(leader)?.HotStandby;
        switch (decision)
        {
            case HaDecision.Lead:
                await LeadAsync(view!, local, ct);
                break;
            case HaDecision.AcquireAndStartPrimary:
                if (await AcquireAsync(ct))
                {
                    Start("starting as primary", Roles.StartPrimaryAsync, ct);
                }
                break;
            case HaDecision.AcquireAndPromote:
                if (Lease.Held || await AcquireAsync(ct))
                {
                    var request = view?.Failover is { } r && r.To == _node.Name ? r : null;
                    var optime = view?.Optime;
                    var synchronous = RoleTransitions.SynchronousStandbyNames(_cluster, _node, Config.SynchronousMode);
                    Start("promoting", async c =>
                    {
                        try
                        {
                            await Roles.PromoteAsync(request, optime, synchronous, c);
                        }
                        catch (Exception) when (Postmaster.Status is not { InRecovery: false })
                        {
                            _promotionFailedAt = _clock.GetTimestamp();
                            await Roles.AbandonPromotionAsync(CancellationToken.None);
                            throw;
                        }
                    }, ct);
                }
                break;
            case HaDecision.AcquireAndLead:
                if (await AcquireAsync(ct))
                {
                    Decided("took the leader lease for the running primary");
                }
                break;
            case HaDecision.Demote d:
                var leaderNode = view?.Leader?.Name is { } ln && ln != _node.Name ? Node(ln) : null;
                await Roles.DemoteNowAsync(ct);
                _events.Failed($"demoted: {d.Reason}");
                if (d.RestartReadOnly)
                {
                    Start("restarting read-only", c => Roles.StartReplicaAsync(leaderNode, null, c), ct);
                }
                break;
            case HaDecision.ReleaseLease:
                await Roles.ReleaseAfterFailureAsync(ct);
                break;
            case HaDecision.HandOver h:
                var deadline = view!.Failover!.ExpiresAt;
                Start($"handing over to {h.Target}", c => Roles.HandOverAsync(h.Target, deadline, c), ct);
                break;
            case HaDecision.StartReplica s:
                // Without a leader, a failed node comes back only after its recovery delay (HaDecider:
                // when no other node may lead); with one, it rejoins as a replica at once.
                if (Postmaster.MayStartReplicaNow && (view?.Leader is not null || Postmaster.MayRecoverNow))
                {
                    Start(s.Upstream is null ? "starting read-only" : $"starting as a replica of {s.Upstream}",
                        c => Roles.StartReplicaAsync(s.Upstream is null ? null : Node(s.Upstream), LeaderSettings(s.Upstream), c), ct);
                }
                break;
            case HaDecision.Follow f:
                if (Postmaster.Upstream?.Name != f.Leader)
                {
                    Postmaster.Repoint(Node(f.Leader), LeaderSettings(f.Leader));
                }
                break;
            case HaDecision.RestartReplica r:
                Start("restarting with higher hot-standby settings", c => Roles.RestartReplicaAsync(Node(r.Leader!), LeaderSettings(r.Leader), c), ct);
                break;
            case HaDecision.Restart r:
                if (_state.TakeRestartRequest())
                {
                    var upstream = r.Leader is null ? null : Node(r.Leader);
                    Start("restarting on request", c => Roles.RestartOnRequestAsync(upstream, LeaderSettings(r.Leader), c), ct);
                }
                break;
            case HaDecision.Rejoin r:
                Start($"rejoining {r.Leader}", c => Roles.RejoinAsync(Node(r.Leader), LeaderSettings(r.Leader), c), ct);
                break;
            case HaDecision.Reclone r:
                var requested = _state.TakeReinitRequest();
                Start(requested ? $"re-initialising from {r.Leader}" : $"re-cloning from {r.Leader}",
                    c => Roles.RecloneAsync(Node(r.Leader), LeaderSettings(r.Leader), r.Reason, c), ct);
                break;
            case HaDecision.CloneLeader c:
                Start($"cloning {c.Leader}", t => Roles.CloneAsync(Node(c.Leader), LeaderSettings(c.Leader), t), ct);
                break;
            case HaDecision.Initialize:
                Start("initialising the cluster", Roles.InitializeAsync, ct);
                break;
            case HaDecision.Wait:
                break;
        }
    }

    private async Task LeadAsync(ClusterView view, LocalState local, CancellationToken ct)
    {
        if (!await Lease.RenewAsync(Ttl, ct))
        {
            Decided("the leader lease was lost");
            return;
        }
        if (!_watchdog.Healthy)
        {
            _events.Failed("the fence watchdog is not running: a primary must not run without it");
        }
        if (local.Busy is not null)
        {
            return;
        }
        if (!local.PostgresRunning)
        {
            if (Postmaster.State is PostmasterState.Stopped or PostmasterState.Crashed && !Postmaster.Failed)
            {
                var paused = view.Config.Paused;
                Start("restarting the primary in place", c => Roles.RestartPrimaryInPlaceAsync(paused, c), ct);
            }
            return;
        }
        if (Postmaster.Status is not { InRecovery: false } status)
        {
            return;
        }
        await _dcs.PublishLeaderPositionAsync(new LeaderOptime(status.Timeline, Lsn.ParseOrNull(status.CurrentLsn) ?? 0), ct);
        _lastRecordedPosition = Lsn.ParseOrNull(status.CurrentLsn);
        if (!Roles.SlotsReady || _cycle % 10 == 0)
        {
            await _pg.EnsureSlotsAsync([.. _cluster.Nodes.Where(n => n.Name != _node.Name).Select(n => n.SlotName)], ct);
            Roles.SlotsReady = true;
        }
        if (view.Failover is { } request && (request.To == _node.Name || !request.IsActive(_clock.GetUtcNow())
                                             || request is { ScheduledAt: not null, From: { } from } && from != _node.Name))
        {
            await _dcs.ClearFailoverAsync(ct);
        }
        else if (Roles.HandOverAfterCrashesSince is not null && view.Failover is null && !view.Config.Paused)
        {
            await RequestHandOverAfterCrashesAsync(view, ct);
        }
    }

    /// <summary>
    /// After repeated crashes the restarted primary switches over to the best streaming replica (a planned
    /// handover loses nothing, where a failover would lose what no replica had received). Requested
    /// again each loop — also after an abandoned hand-over (a replica still reconnecting to the restarted
    /// primary has not caught up) — until this node loses the lease or
    /// <see cref="PostmasterSupervisor.PrimaryRestartWindow"/> has passed since the crash.
    /// </summary>
    private async Task RequestHandOverAfterCrashesAsync(ClusterView view, CancellationToken ct)
    {
        if (_clock.GetElapsedTime(Roles.HandOverAfterCrashesSince!.Value) > PostmasterSupervisor.PrimaryRestartWindow)
        {
            Roles.HandOverAfterCrashesSince = null;
            _events.Failed($"no replica took over within {PostmasterSupervisor.PrimaryRestartWindow.TotalSeconds:0} s of the repeated crashes: this node stays the primary");
            return;
        }
        var target = SwitchoverRules.BestCandidate(view, _node.Name, [.. _cluster.Nodes.Select(n => n.Name)]);
        if (target is null)
        {
            return;
        }
        await _dcs.RequestFailoverAsync(new FailoverRequest(FailoverKind.Switchover, _node.Name, target, _clock.GetUtcNow()), ct);
        Decided($"requested a switchover to {target} after repeated crashes of this primary's PostgreSQL");
    }

    /// <summary>
    /// Synchronous mode: commits wait for ANY 1 of the other nodes, so an acknowledged commit is
    /// always on at least one replica (and the failover candidate with the most WAL has it). Every
    /// running node carries the setting — a replica too — so a promoted one requires a synchronous
    /// replica from its first commit on.
    /// </summary>
    private async Task ApplySynchronousModeAsync(CancellationToken ct)
    {
        var desired = RoleTransitions.SynchronousStandbyNames(_cluster, _node, Config.SynchronousMode);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            if (await _pg.SetSynchronousStandbyNamesAsync(desired, timeout.Token))
            {
                Decided(desired.Length == 0 ? "synchronous mode off: commits no longer wait for a replica" : $"synchronous mode: commits wait for {desired}");
            }
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            _events.Failed($"setting synchronous_standby_names failed: {e.Message}");
        }
    }

    private async Task<bool> AcquireAsync(CancellationToken ct)
    {
        if (!_watchdog.Healthy)
        {
            _events.Failed("the fence watchdog is not running: not taking the leader lease");
            return false;
        }
        if (!await Lease.TryAcquireAsync(Ttl, ct))
        {
            return false;
        }
        Postmaster.ResetPrimaryRestarts();
        return true;
    }

    private void Start(string name, Func<CancellationToken, Task> action, CancellationToken ct) => _actions.TryStart(name, action, ct);

    /// <summary>The fence is armed by lease renewals; it is disarmed only once PostgreSQL cannot write (stopped, or read-only) and no lease is held.</summary>
    private void SyncWatchdog()
    {
        if (!Lease.Held && (Postmaster.Pid is null || Postmaster.Status is { InRecovery: true }))
        {
            _watchdog.Disarm();
        }
    }

    /// <summary>restore_command may hand this node history files up to its leader's timeline (its own without a leader); kept when the DCS is unreachable.</summary>
    private void SyncTimelineLimit(ClusterView? view, LocalState local)
    {
        if (view is null)
        {
            return;
        }
        var leader = view.Leader?.Name is { } l && l != _node.Name ? view.Members.GetValueOrDefault(l) : null;
        var limit = leader is { Timeline: > 0 } ? leader.Timeline : local.Timeline;
        if (limit > 0 && limit != _timelineLimit)
        {
            _pg.SetTimelineLimit(limit);
            _timelineLimit = limit;
        }
    }

    private void Decided(string reason)
    {
        if (reason != _lastReason)
        {
            _events.Decided(reason);
            _lastReason = reason;
        }
        _state.Update(s => s with { LastDecision = reason });
    }

    private void Publish(ClusterView? view, LocalState local)
    {
        var s = Postmaster.Status;
        var running = Postmaster.State == PostmasterState.Running;
        var aside = _pg.AsideCopies();
        _state.Update(old => old with
        {
            Role = running && s is not null ? (s.InRecovery ? NodeRole.Replica : NodeRole.Primary) : old.Role,
            State = StateText(local),
            PostgresRunning = running,
            Timeline = local.Timeline == 0 ? old.Timeline : local.Timeline,
            CurrentLsn = running ? s?.CurrentLsn : null,
            ReceiveLsn = running ? s?.ReceiveLsn : null,
            ReplayLsn = running ? s?.ReplayLsn : null,
            ReplayLagSeconds = running ? s?.ReplayLagSeconds : null,
            Upstream = running && s?.InRecovery == true ? Postmaster.Upstream?.Name : null,
            SystemIdentifier = _control?.SystemIdentifier ?? old.SystemIdentifier,
            Replicas = running ? s?.Replicas ?? [] : [],
            Slots = running ? s?.Slots ?? [] : [],
            WalReceiver = running ? s?.WalReceiverStatus : null,
            ArchiveFailure = running ? s?.ArchiveFailure : null,
            Leader = view?.Leader?.Name ?? (view is null ? old.Leader : null),
            Paused = view?.Config.Paused ?? old.Paused,
            LeaseExpiresAt = Lease.Remaining is { } left ? _clock.GetUtcNow() + left : null,
            Action = local.Busy,
            RunningSettings = running ? s?.HotStandby : null,
            AsideCopies = aside.Count,
            AsideBytes = aside.Sum(a => a.Bytes),
            EffectiveDcsConfig = view?.Config ?? old.EffectiveDcsConfig,
            PendingRestart = running ? s?.PendingRestart ?? [] : [],
            ConfigErrors = running ? s?.ConfigErrors ?? [] : [],
            ScheduledSwitchover = view is null ? old.ScheduledSwitchover : view.Failover is { } f && f.IsWaiting(_clock.GetUtcNow()) ? f : null,
        });
    }

    private string StateText(LocalState local) =>
        local.Busy is { } busy ? busy
        : Postmaster.State switch
        {
            PostmasterState.Running when Postmaster.Status is { InRecovery: true, WalReceiverStatus: "streaming" } => "streaming",
            PostmasterState.Running => "running",
            PostmasterState.NotAnswering => "not answering",
            PostmasterState.Starting => "starting",
            PostmasterState.Crashed => "crashed",
            PostmasterState.Fenced => "fenced",
            _ => local.Data == LocalDataState.Empty ? "empty" : "stopped",
        };

    private async Task PublishMemberAsync(LocalState local, CancellationToken ct)
    {
        var s = Postmaster.Status;
        var running = Postmaster.State == PostmasterState.Running && s is not null;
        var member = new MemberInfo(_node.Name, running ? (s!.InRecovery ? NodeRole.Replica : NodeRole.Primary) : NodeRole.Stopped,
            StateText(local), running, local.Timeline, local.WalPosition, running ? Lsn.ParseOrNull(s!.ReplayLsn) : null,
            _node.ApiUrl, _node.Address, _node.Port, _node.Priority, _node.NoFailover, _clock.GetUtcNow())
        {
            CheckpointTimeline = running ? s!.CheckpointTimeline : _control?.CheckpointTimeline ?? 0,
            CleanlyStopped = !running && local.CleanShutdown,
            HotStandby = running ? s!.HotStandby : null,
            SlotsReady = running && !s!.InRecovery && Roles.SlotsReady,
            PromotionFailed = PromotionFailedRecently,
            HasNoData = !running && local.Data == LocalDataState.Empty,
            HoldsAtMost = running ? null : _rewindBound,
            PendingRestart = running ? NameList.Of(s!.PendingRestart) : NameList.Empty,
            ConfigErrors = running ? NameList.Of(s!.ConfigErrors) : NameList.Empty,
            PostgresStartedAt = running ? s!.StartedAt : null,
            ParametersApplied = running && Postmaster.RenderedParameters is { } rendered ? Core.Parameters.DynamicParameters.Fingerprint(rendered) : null,
        };
        try
        {
            await _dcs.PublishMemberAsync(member, Ttl, ct);
        }
        catch (DcsUnavailableException e)
        {
            _state.Update(x => x with { DcsError = e.Message });
        }
    }

    private static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
}
