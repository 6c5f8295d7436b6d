using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Ha;

/// <summary>
/// The role changes of one node — initialise, clone, start as primary or replica, promote, demote,
/// hand over, rewind, re-clone — each a long action that runs beside the HA loop (the loop keeps
/// renewing the lease meanwhile). A data directory is never deleted: it is moved aside, and copies
/// set aside beyond the newest <see cref="KeepAsideCopies"/> are removed only after the node runs
/// as a replica again.
/// </summary>
public sealed class RoleTransitions(
    ClusterConfig cluster,
    NodeConfig self,
    IPostgresNode pg,
    PostmasterSupervisor postmaster,
    LeaseKeeper lease,
    IDcs dcs,
    IPeerNodes peers,
    IWatchdog watchdog,
    TimeProvider clock,
    AgentEvents events)
{
    /// <summary>Data directories set aside (before a re-clone) that are kept; older ones go once the node streams again.</summary>
    public const int KeepAsideCopies = 1;

    /// <summary>How long a replica may take to accept connections (crash recovery of a large data directory included).</summary>
    public static readonly TimeSpan ReplicaStartTimeout = TimeSpan.FromMinutes(5);

    /// <summary>How long a switchover target may take to receive the primary's WAL as of the request before the switchover is dropped (the primary still running).</summary>
    public static readonly TimeSpan CatchUpLimit = TimeSpan.FromSeconds(10);

    /// <summary>How long after its clean stop the primary waits for the target to receive the shutdown checkpoint (a healthy one does in milliseconds).</summary>
    public static readonly TimeSpan ReceiptLimit = TimeSpan.FromSeconds(5);

    /// <summary>The target's agent must have published its member key within this long: a frozen agent would not take the lease.</summary>
    public static readonly TimeSpan TargetFreshness = TimeSpan.FromSeconds(3);

    /// <summary>pg_rewind attempts that fail transiently (unreachable source) before the node is re-cloned instead.</summary>
    public const int RewindAttempts = 5;

    private IEnumerable<string> OtherSlots => cluster.Nodes.Where(n => n.Name != self.Name).Select(n => n.SlotName);

    /// <summary>True once the primary has every other node's slot (published, so replicas follow only then).</summary>
    public bool SlotsReady { get; set; }

    /// <summary>Claims the cluster's initialisation in the DCS and runs initdb; the loop then starts it as primary.</summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        if (!await dcs.TryInitializeAsync(self.Name, ct))
        {
            events.Decided("another node claimed the cluster's initialisation first");
            return;
        }
        await dcs.WriteConfigAsync(cluster.Dcs.Initial, ct);
        await pg.InitDbAsync(ct);
        events.Decided("initialised a new cluster (initdb)");
    }

    /// <summary>After taking the lease: starts the cleanly stopped primary writable (crash recovery within the restart budget is not needed), then bootstraps roles and slots.</summary>
    public async Task StartPrimaryAsync(CancellationToken ct)
    {
        await postmaster.StartAsync(null, false, null, ReplicaStartTimeout, ct);
        await pg.BootstrapAsync(ct);
        SlotsReady = true;
    }

    /// <summary>
    /// When (monotonic timestamp) the primary crashed for the second time within
    /// <see cref="PostmasterSupervisor.PrimaryRestartWindow"/>: once it runs again the loop requests a
    /// switchover to the best replica, again after an abandoned one that did not stop the primary; cleared
    /// when an abandoned one did, when this node loses the
    /// lease, or after the window with no hand-over done (no surprise switchover long after the crashes).
    /// </summary>
    public long? HandOverAfterCrashesSince { get; set; }

    /// <summary>Called when a long action reached a state others wait for (a promotion done): the loop publishes it at once.</summary>
    public Action? Progressed { get; set; }

    /// <summary>
    /// A leader whose PostgreSQL crashed: restarted in place within <see cref="PostmasterSupervisor.PrimaryRestartBudget"/>
    /// (crash recovery replays every flushed commit, including those no replica received); a second crash
    /// within the window restarts it to hand over, a third or a restart that fails marks the node failed
    /// (the loop releases the lease).
    /// </summary>
    /// <param name="paused">While paused nothing moves the lease automatically: every crash is restarted in place.</param>
    public async Task RestartPrimaryInPlaceAsync(bool paused, CancellationToken ct)
    {
        switch (paused ? PrimaryRestart.KeepLeading : postmaster.TryUsePrimaryRestart())
        {
            case PrimaryRestart.Refused:
                events.Failed($"the primary's PostgreSQL crashed a third time within {PostmasterSupervisor.PrimaryRestartWindow.TotalSeconds:0} s: releasing the lease");
                return;
            case PrimaryRestart.ThenHandOver:
                events.Failed($"the primary's PostgreSQL crashed again within {PostmasterSupervisor.PrimaryRestartWindow.TotalSeconds:0} s: restarting it to hand over to a replica with every acknowledged commit");
                HandOverAfterCrashesSince = clock.GetTimestamp();
                break;
        }
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        budget.CancelAfter(PostmasterSupervisor.PrimaryRestartBudget);
        string? lastError = null;
        // Backends of the killed postmaster may hold its shared memory for a moment: retry until the budget is spent.
        while (!budget.IsCancellationRequested)
        {
            // Only while the lease is renewed: once its fence deadline has passed (the DCS cut off while crash
            // recovery ran, the fence killed that postmaster), a retry would start a writable primary that no
            // fence watches while another node may already lead (hostile review of the 10 s budget).
            if (lease.Remaining is not { } left || left <= LeaseKeeper.FenceMargin(lease.GrantedTtl ?? left))
            {
                lastError = "the leader lease was not renewed meanwhile";
                break;
            }
            try
            {
                await postmaster.StartAsync(null, false, null, PostmasterSupervisor.PrimaryRestartBudget, budget.Token);
                events.PostgresRestarted();
                events.Decided("the primary's PostgreSQL crashed and was restarted in place");
                return;
            }
            catch (PgWardenException e)
            {
                lastError = e.Message;
                await Task.Delay(TimeSpan.FromMilliseconds(200), clock, CancellationToken.None);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                break;
            }
        }
        await postmaster.FenceAsync($"it did not come back within {PostmasterSupervisor.PrimaryRestartBudget.TotalSeconds:0} s after a crash ({lastError})");
    }

    /// <summary>Starts PostgreSQL read-only, following <paramref name="upstream"/> (or none), with the hot-standby settings its WAL needs.</summary>
    public async Task StartReplicaAsync(NodeConfig? upstream, HotStandbySettings? leaderSettings, CancellationToken ct)
    {
        try
        {
            var floor = await HotStandbyFloorAsync(leaderSettings, ct);
            if (upstream is not null)
            {
                // Streaming, it may receive (and, as a synchronous standby, acknowledge) WAL beyond its
                // rewind bound before it is consistent: the bound no longer holds.
                pg.ForgetRewindBound();
            }
            await postmaster.StartAsync(upstream, true, floor, ReplicaStartTimeout, ct);
            postmaster.ReplicaStarted();
            await EnsureSlotsQuietlyAsync(ct);
        }
        catch (PgWardenException)
        {
            postmaster.ReplicaStartFailed();
            await postmaster.StopAsync(ShutdownMode.Immediate);
            throw;
        }
    }

    /// <summary>Restarts a running replica (fast shutdown) so it runs with higher hot-standby settings.</summary>
    public async Task RestartReplicaAsync(NodeConfig leader, HotStandbySettings? leaderSettings, CancellationToken ct)
    {
        await postmaster.StopAsync(ShutdownMode.Fast);
        await StartReplicaAsync(leader, leaderSettings, ct);
    }

    /// <summary>
    /// A restart the operator asked for (`pgwarden restart`): a fast shutdown, then a start with the
    /// current configuration (pending parameters take effect). A replica starts streaming from
    /// <paramref name="leader"/> again; the primary (null) restarts in place while the loop keeps
    /// renewing its lease — a planned stop, so neither the crash count nor the restart budget of a
    /// crashed primary applies. Should the start fail, the loop treats it like a crash.
    /// </summary>
    public async Task RestartOnRequestAsync(NodeConfig? leader, HotStandbySettings? leaderSettings, CancellationToken ct)
    {
        if (leader is not null)
        {
            await RestartReplicaAsync(leader, leaderSettings, ct);
            events.Decided($"restarted on request; streaming from {leader.Name} again");
            return;
        }
        await postmaster.StopAsync(ShutdownMode.Fast);
        await postmaster.StartAsync(null, false, null, ReplicaStartTimeout, ct);
        events.Decided("the primary's PostgreSQL was restarted in place on request (the lease was kept)");
    }

    /// <summary>synchronous_standby_names for <paramref name="node"/> as primary: ANY 1 of all other nodes in synchronous mode, else empty.</summary>
    public static string SynchronousStandbyNames(ClusterConfig cluster, NodeConfig node, bool synchronousMode) =>
        synchronousMode ? $"ANY 1 ({string.Join(", ", cluster.Nodes.Where(n => n.Name != node.Name).Select(n => "\"" + n.Name + "\""))})" : "";

    /// <summary>
    /// Promotes the local replica (the lease is held): creates the other nodes' slots first, so no
    /// replica pointed at the new primary meets "replication slot does not exist", promotes, records
    /// the new timeline in the DCS history and clears the request it carried out.
    /// </summary>
    /// <param name="request">The switchover or failover to this node being carried out, if any.</param>
    /// <param name="lastLeader">The old leader's last recorded position: what this node had not received is reported as lost.</param>
    /// <param name="synchronousStandbyNames">Set before the promotion: in synchronous mode the first commit already waits for a replica.</param>
    public async Task PromoteAsync(FailoverRequest? request, LeaderOptime? lastLeader, string synchronousStandbyNames, CancellationToken ct)
    {
        var before = postmaster.Status;
        var switchPosition = Math.Max(Lsn.ParseOrNull(before?.ReceiveLsn) ?? 0, Lsn.ParseOrNull(before?.ReplayLsn) ?? 0);
        await EnsureSlotsQuietlyAsync(ct);
        await pg.SetSynchronousStandbyNamesAsync(synchronousStandbyNames, ct);
        await pg.PromoteAsync(ct);
        postmaster.ConfigureAsPrimary();
        await postmaster.RefreshAsync(ct);
        await pg.EnsureSlotsAsync([.. OtherSlots], ct);
        SlotsReady = true;
        var timeline = postmaster.Status?.Timeline ?? (before?.Timeline ?? 0) + 1;
        var reason = request is not null ? $"{request.Describe()} requested" : "failover: the leader lease was free";
        if (request?.Kind != FailoverKind.Switchover && lastLeader is { } optime && optime.Timeline == (before?.Timeline ?? 0) && optime.Position > switchPosition)
        {
            // WAL the old leader wrote (and may have acknowledged, in asynchronous mode) that never arrived here.
            reason += $"; up to {optime.Position - switchPosition} bytes of WAL the last leader recorded never reached this node";
            events.Failed($"promoting with up to {optime.Position - switchPosition} bytes of the WAL the last leader recorded missing (at most maximum_lag_on_failover)");
        }
        events.Promoted();
        Progressed?.Invoke();
        events.Decided($"promoted to primary on timeline {timeline} ({reason})");
        await dcs.AppendHistoryAsync(new TimelineHistoryEntry(timeline, switchPosition, self.Name, reason, clock.GetUtcNow()), ct);
        if (request is not null)
        {
            await dcs.ClearFailoverAsync(ct);
        }
        // A checkpoint records the new timeline in the control file, which a former primary waits
        // for before pg_rewind (it would see no divergence before).
        try
        {
            await pg.CheckpointAsync(ct);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            events.Failed($"checkpoint after promotion failed: {e.Message}");
        }
    }

    /// <summary>
    /// A promotion that failed (pg_ctl promote timed out: a stuck WAL receiver, say): PostgreSQL is
    /// stopped at once — it could still complete the promotion later — and only then is the lease
    /// given up, so another node takes over. The next start is as a replica (promote.signal removed).
    /// </summary>
    public async Task AbandonPromotionAsync(CancellationToken ct)
    {
        await postmaster.StopAsync(ShutdownMode.Immediate);
        watchdog.Disarm();
        SlotsReady = false;
        try
        {
            await lease.ReleaseAsync(ct);
        }
        catch (DcsUnavailableException)
        {
            lease.Forget();
        }
        events.Failed("the promotion failed: PostgreSQL stopped and the leader lease released so another node takes over");
    }

    /// <summary>Stops accepting writes now (immediate shutdown) and gives up any lease.</summary>
    public async Task DemoteNowAsync(CancellationToken ct)
    {
        await postmaster.StopAsync(ShutdownMode.Immediate);
        watchdog.Disarm();
        SlotsReady = false;
        if (lease.Held)
        {
            try
            {
                await lease.ReleaseAsync(ct);
            }
            catch (DcsUnavailableException)
            {
                // The lease expires by itself; this node no longer writes either way.
            }
        }
        lease.Forget();
    }

    /// <summary>Gives the lease up after a failure: PostgreSQL is stopped (killed if it is still there) first.</summary>
    public async Task ReleaseAfterFailureAsync(CancellationToken ct)
    {
        await postmaster.StopAsync(ShutdownMode.Immediate);
        watchdog.Disarm();
        SlotsReady = false;
        await lease.ReleaseAsync(ct);
        events.Decided("released the leader lease");
    }

    /// <summary>
    /// Switchover from this leader (the lease stays held, and renewed by the loop, throughout):
    /// wait until the target has this primary's WAL as of the request (else drop the request with the
    /// primary untouched), checkpoint, stop cleanly, and release the lease
    /// only once the target has received the shutdown checkpoint — every WAL record this primary
    /// wrote. If that does not happen by <paramref name="deadline"/> (wall clock), the request is
    /// dropped and this node starts again as primary: a switchover that cannot complete leaves a primary.
    /// </summary>
    public async Task HandOverAsync(string target, DateTimeOffset deadline, CancellationToken ct)
    {
        var targetNode = cluster.Node(target);
        var stopBy = clock.GetTimestamp() + (long)(Math.Max(1, (deadline - clock.GetUtcNow()).TotalSeconds) * clock.TimestampFrequency);
        TimeSpan Left() => TimeSpan.FromSeconds(Math.Max(0, (stopBy - clock.GetTimestamp()) / (double)clock.TimestampFrequency));

        // 0. The target's agent must be alive (its member key fresh) and its replica streaming: a frozen
        //    agent would never take the lease.
        var view = await dcs.ReadAsync(ct);
        if (!view.Members.TryGetValue(target, out var member) || member.State != "streaming"
            || clock.GetUtcNow() - member.UpdatedAt > TargetFreshness)
        {
            await AbandonHandOverAsync(target, $"{target}'s agent has not reported a streaming replica within the last {TargetFreshness.TotalSeconds:0} s", restart: false, ct);
            return;
        }
        // 1. The target must have received everything this primary had written when the request
        //    arrived (new transactions wait in PgBouncer): a healthy replica does within milliseconds,
        //    one whose WAL receiver stalls never does — and then the primary is not stopped at all.
        await postmaster.RefreshAsync(ct);
        var snapshot = Lsn.ParseOrNull(postmaster.Status?.CurrentLsn);
        var catchUpBy = clock.GetTimestamp() + (long)(Math.Min(Left().TotalSeconds, CatchUpLimit.TotalSeconds) * clock.TimestampFrequency);
        var caughtUp = snapshot is not null && await WaitForAsync(async () => await peers.ReceivedPositionAsync(targetNode, ct) >= snapshot,
            () => TimeSpan.FromSeconds(Math.Max(0, (catchUpBy - clock.GetTimestamp()) / (double)clock.TimestampFrequency)), ct);
        if (!caughtUp)
        {
            await AbandonHandOverAsync(target, $"{target} did not receive this primary's WAL up to {Lsn.Format(snapshot ?? 0)} within {CatchUpLimit.TotalSeconds:0} s (its WAL receiver is stalled or too far behind)", restart: false, ct);
            return;
        }
        // 2. No CHECKPOINT here: clients already wait in PgBouncer, and the shutdown checkpoint writes the
        //    same buffers; `pgwarden switchover` checkpoints before it pauses the PgBouncers instead.
        // 3. Clean stop: the WAL senders send everything up to the shutdown checkpoint.
        await postmaster.StopAsync(ShutdownMode.Fast, Left() > TimeSpan.FromSeconds(1) ? Left() : TimeSpan.FromSeconds(1));
        SlotsReady = false;
        var control = await pg.ReadControlDataAsync(ct);
        if (!control.CleanPrimaryShutdown)
        {
            await AbandonHandOverAsync(target, "this primary did not shut down cleanly in time", restart: true, ct);
            return;
        }
        // 4. Hand over only once the target has every record up to and including the shutdown checkpoint.
        var shutdownCheckpoint = control.CheckpointLsn;
        var receiptBy = clock.GetTimestamp() + (long)(Math.Min(Left().TotalSeconds, ReceiptLimit.TotalSeconds) * clock.TimestampFrequency);
        var received = await WaitForAsync(async () => await peers.ReceivedPositionAsync(targetNode, ct) > shutdownCheckpoint,
            () => TimeSpan.FromSeconds(Math.Max(0, (receiptBy - clock.GetTimestamp()) / (double)clock.TimestampFrequency)), ct);
        if (!received)
        {
            await AbandonHandOverAsync(target, $"{target} did not receive the shutdown checkpoint {Lsn.Format(shutdownCheckpoint)}", restart: true, ct);
            return;
        }
        watchdog.Disarm();
        await lease.ReleaseAsync(ct);
        events.Decided($"switchover: {target} has every WAL record up to the shutdown checkpoint {Lsn.Format(shutdownCheckpoint)}; released the leader lease to it");
    }

    private async Task AbandonHandOverAsync(string target, string why, bool restart, CancellationToken ct)
    {
        events.Failed($"switchover to {target} abandoned: {why}; this node stays the primary");
        try
        {
            await dcs.ClearFailoverAsync(ct);
        }
        catch (DcsUnavailableException)
        {
            // The request expires by its deadline anyway.
        }
        if (restart)
        {
            // The attempt already cost a stop of the primary: another request would stop it again and again
            // for the rest of the window. Only an attempt that never stopped it (the target not caught up yet)
            // is requested again after crashes.
            HandOverAfterCrashesSince = null;
            await StartPrimaryAsync(ct);
        }
    }

    /// <summary>
    /// A node whose WAL left the leader's history (a former primary, a diverged replica): stop it,
    /// pg_rewind from the leader — retried when the leader is only unreachable for a moment, with WAL
    /// missing locally fetched from the archive — and start it as the leader's replica. If pg_rewind
    /// cannot do it, or the rewound node cannot start, the data directory is set aside and re-cloned.
    /// </summary>
    public async Task RejoinAsync(NodeConfig leader, HotStandbySettings? leaderSettings, CancellationToken ct)
    {
        var step = clock.GetTimestamp();
        await postmaster.StopAsync(ShutdownMode.Fast);
        events.Decided($"rejoin step stop: {clock.GetElapsedTime(step).TotalSeconds:0.00} s");
        var started = clock.GetTimestamp();
        RewindOutcome? outcome = null;
        for (var attempt = 1; attempt <= RewindAttempts; attempt++)
        {
            outcome = await pg.RewindAsync(leader, ct);
            if (outcome.Succeeded || !outcome.Transient)
            {
                break;
            }
            events.Failed($"pg_rewind from {leader.Name} failed (attempt {attempt} of {RewindAttempts}, will retry): {outcome.Detail}");
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(8, Math.Pow(2, attempt - 1))), clock, ct);
        }
        if (outcome is { Succeeded: false, Transient: true })
        {
            // The leader stayed out of reach: its data stays where it is; the loop decides again
            // (the leader may be gone, and another node lead next).
            events.Failed($"pg_rewind could not reach {leader.Name}: the data directory is left as it is and the next cycle decides again");
            return;
        }
        if (outcome is not { Succeeded: true })
        {
            await RecloneAsync(leader, leaderSettings, $"pg_rewind from {leader.Name} failed ({outcome?.Detail})", ct);
            return;
        }
        events.Decided($"rejoin step pg_rewind from {leader.Name} (with crash recovery when needed): {clock.GetElapsedTime(started).TotalSeconds:0.00} s"
                       + (pg.ReadRewindBound() is { } bound ? $"; until it is consistent it holds at most timeline {bound.Timeline} up to {Lsn.Format(bound.Position)}" : ""));
        step = clock.GetTimestamp();
        try
        {
            await StartReplicaAsync(leader, leaderSettings, ct);
            events.Decided($"rejoin step start as replica: {clock.GetElapsedTime(step).TotalSeconds:0.00} s");
        }
        catch (PgWardenException e)
        {
            // E.g. "requested timeline does not contain minimum recovery point": history this node cannot replay.
            await RecloneAsync(leader, leaderSettings, $"after pg_rewind it could not start as a replica of {leader.Name} ({e.Message})", ct);
            return;
        }
        events.Decided($"rejoined {leader.Name} as a replica");
    }

    /// <summary>Sets the data directory aside (kept) and clones <paramref name="leader"/> afresh; older copies beyond the newest go once it runs.</summary>
    public async Task RecloneAsync(NodeConfig leader, HotStandbySettings? leaderSettings, string why, CancellationToken ct)
    {
        // Never set the data aside for a clone that cannot work: the leader must answer as primary now.
        if (!await peers.IsPrimaryAsync(leader, ct))
        {
            events.Failed($"not re-cloning from {leader.Name} ({why}): it does not answer as a primary; the data directory is left as it is");
            return;
        }
        await postmaster.StopAsync(ShutdownMode.Fast);
        var aside = pg.MoveDataAside("reclone");
        events.Failed($"re-cloning from {leader.Name}: {why}; old data directory kept at {aside}");
        await pg.CloneAsync(leader, ct);
        await StartReplicaAsync(leader, leaderSettings, ct);
        foreach (var removed in pg.PruneAsideCopies(KeepAsideCopies))
        {
            events.Decided($"removed the older set-aside data directory {removed} (the newest copy is kept)");
        }
        events.Decided($"re-cloned from {leader.Name}");
    }

    /// <summary>Clones <paramref name="leader"/> into the empty data directory and starts as its replica.</summary>
    public async Task CloneAsync(NodeConfig leader, HotStandbySettings? leaderSettings, CancellationToken ct)
    {
        await pg.CloneAsync(leader, ct);
        await StartReplicaAsync(leader, leaderSettings, ct);
    }

    private async Task<HotStandbySettings?> HotStandbyFloorAsync(HotStandbySettings? leaderSettings, CancellationToken ct)
    {
        if (await pg.InspectAsync(ct) == LocalDataState.Empty)
        {
            return leaderSettings;
        }
        var recorded = (await pg.ReadControlDataAsync(ct)).HotStandby;
        return leaderSettings is null ? recorded : recorded.Max(leaderSettings);
    }

    private async Task EnsureSlotsQuietlyAsync(CancellationToken ct)
    {
        try
        {
            await pg.EnsureSlotsAsync([.. OtherSlots], ct);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            events.Failed($"creating the replication slots failed: {e.Message}");
        }
    }

    private async Task<bool> WaitForAsync(Func<Task<bool>> done, Func<TimeSpan> left, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                if (await done())
                {
                    return true;
                }
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // The target may be restarting; keep asking until the deadline.
            }
            if (left() <= TimeSpan.Zero)
            {
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(10), clock, ct);
        }
    }
}
