using PgWarden.Agent.Ha;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>
/// Hostile review of issue 11 (5 s lease, wake-ups, crash hand-over). Each test states an invariant
/// the change breaks; a failing test is the demonstration.
/// </summary>
public sealed class HostileReview11Tests
{
    private static readonly long Second = TimeSpan.FromSeconds(1).Ticks;

    /// <summary>
    /// Finding 1. After a DCS outage demoted the primary (35 % rule), the DCS comes back while the old
    /// key still names this node. OwnLease → AcquireAndPromote → TryAcquireLeaderAsync "adopts" the
    /// existing key (EtcdDcs: holder.Lease == held; no keepalive is sent) and LeaseKeeper.Extend counts
    /// a fresh ttl from now. The watchdog is armed for now + ttl − margin, although etcd will drop the key
    /// at the last *real* renewal + ttl. A replica takes the key then and promotes while this node is a
    /// writable primary whose fence is still seconds away.
    /// </summary>
    [Fact]
    public async Task AnAdoptedLeaseNeverArmsTheFenceBeyondTheDcsExpiry()
    {
        var clock = new FakeClock();
        var dcs = new InMemoryDcs(clock);
        dcs.Seed(initialize: "pg1", config: new DcsConfig { Ttl = 5, LoopWait = 1 });
        var h = new AgentHarness("pg1", clock, dcs);
        h.Node.AsPrimary();
        await h.CycleUntilAsync(d => d is HaDecision.Lead && h.Node.Running);
        var renewedAt = h.Now;
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());       // the last real renewal, at renewedAt
        var dcsExpiry = renewedAt + 5 * Second;

        h.Dcs.Unreachable = true;
        // r+1: 4 s left, no more than the demote margin at ttl 5 (fence 1 s + loop 1 s + DCS call 2 s).
        var demote = Assert.IsType<HaDecision.Demote>(await h.CycleAsync(advance: TimeSpan.FromSeconds(2.5)));
        Assert.True(demote.RestartReadOnly);
        Assert.True(h.Node.Running && h.Node.InRecovery);
        Assert.Null(h.Watchdog.Deadline);

        // r+3.5: the DCS answers again; the key (renewed at r) still names pg1 until r+5.
        h.Dcs.Unreachable = false;
        var d = await h.CycleAsync(advance: TimeSpan.Zero);
        Assert.IsType<HaDecision.AcquireAndPromote>(d);
        Assert.False(h.Node.InRecovery); // writable again

        // The fence must fire before etcd can let the key go (deadline <= expiry − margin): adopting the
        // key must renew it, so the expiry is the one after the adoption, not the stale one at r+5.
        dcsExpiry = h.Now + (h.Dcs.LeaderExpiresAt!.Value - clock.GetUtcNow()).Ticks;
        Assert.True(h.Watchdog.Deadline <= dcsExpiry - Second,
            $"watchdog armed until r+{(h.Watchdog.Deadline - renewedAt) / (double)Second:0.0} s, but the DCS drops the key at r+5.0 s (no keepalive was sent for the adopted lease)");
    }

    /// <summary>
    /// Finding 2. PostmasterSupervisor.Exited returns the exited process's completed task until the next
    /// start/stop. NodeAgentService waits on Task.WhenAny(delay, Postmaster.Exited, woken): any cycle that
    /// ends with a dead postmaster that is not restarted (a former primary waiting for the new leader's
    /// checkpoint, a failed node without a leader, a crashed primary while the DCS is unreachable) spins
    /// with no wait at all — 100 % CPU, a DCS read + member write + pg_controldata per iteration.
    /// </summary>
    [Fact]
    public async Task AnExitedPostmasterThatIsNotRestartedDoesNotKeepTheLoopAwake()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Node.Crash();
        h.Dcs.ForceLeader("pg2", TimeSpan.FromMinutes(5));
        h.Member("pg2", NodeRole.Primary, 0x3000000, timeline: 1); // has not checkpointed a new timeline yet
        var d = await h.CycleAsync(advance: TimeSpan.Zero);
        Assert.IsType<HaDecision.Wait>(d);
        Assert.False(h.Node.Running);
        Assert.False(h.Agent.Postmaster.Exited.IsCompleted,
            "Postmaster.Exited is already completed after the cycle: NodeAgentService's WhenAny returns at once, every iteration (busy loop)");
    }

    /// <summary>
    /// Finding 3. HandOverAfterCrashesSince is cleared only by RequestHandOverAfterCrashesAsync, which
    /// runs only while this node leads with PostgreSQL running, and its 60 s expiry is checked only when
    /// no target exists. A node that loses the lease while the flag is set (DCS outage, third crash,
    /// fence) keeps it; the next time it leads — an hour later, after an operator's switchover back,
    /// say — it at once requests a switchover away: a leadership change nobody asked for.
    /// </summary>
    [Fact]
    public async Task TheCrashHandOverFlagDoesNotOutliveTheLeadershipItWasSetIn()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Node.Crash();
        await h.CycleAsync();                 // first crash: restarted, keeps leading
        h.Node.Crash();
        await h.CycleAsync();                 // second: restarted "to hand over", flag set
        await h.CycleAsync();                 // no streaming replica yet: nothing requested
        Assert.Null(h.Dcs.Failover);

        h.Dcs.Unreachable = true;             // a DCS outage: the primary demotes and loses the lease
        await h.CycleUntilAsync(x => x is HaDecision.Demote);
        h.Clock.Advance(TimeSpan.FromHours(1));
        h.Dcs.Unreachable = false;

        // An hour later pg1 (the only replica) becomes the leader again by an ordinary failover.
        await h.CycleUntilAsync(x => x is HaDecision.AcquireAndPromote);
        Assert.False(h.Node.InRecovery);
        h.Member("pg2", NodeRole.Replica, h.Node.Position, timeline: h.Node.Timeline);
        await h.CycleAsync(waitForAction: false);
        var requested = h.Dcs.Failover;
        var next = await h.CycleAsync(waitForAction: false); // HandOver starts (it would stop this primary)
        Assert.True(requested is null && next is not HaDecision.HandOver,
            $"{next.GetType().Name}: a switchover {requested?.From} -> {requested?.To} was requested an hour after the crashes that set the flag");
        Assert.True(h.Dcs.Failover is null,
            $"a switchover {h.Dcs.Failover?.From} -> {h.Dcs.Failover?.To} was requested an hour after the crashes that set the flag");
    }

    /// <summary>
    /// Finding 4. A paused cluster (README: "switch automatic failover off") whose primary's PostgreSQL
    /// crashes twice gets an automatic switchover requested by the agent itself; pause is documented to
    /// let *requested* switchovers through, so nothing stops it.
    /// </summary>
    [Fact]
    public async Task APausedClusterGetsNoAutomaticSwitchoverAfterCrashes()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        await h.Dcs.WriteConfigAsync(new DcsConfig { Ttl = 10, LoopWait = 1, Paused = true }, CancellationToken.None);
        h.Member("pg2", NodeRole.Replica, h.Node.Position);
        h.Node.Crash();
        await h.CycleAsync();
        h.Node.Crash();
        await h.CycleAsync();
        h.Member("pg2", NodeRole.Replica, h.Node.Position);
        await h.CycleAsync();
        Assert.True(h.Dcs.Failover is null, $"paused, yet the agent requested {h.Dcs.Failover?.Describe()}");
    }

    /// <summary>
    /// Finding 5. Paused cluster, a third crash within the minute: the leader releases its lease; every
    /// replica then waits ("the cluster is paused: no automatic failover") and the failed old primary
    /// waits too ("not restarted without a leader"): no primary until an operator resumes.
    /// </summary>
    [Fact]
    public async Task APausedClusterKeepsAPrimaryThroughRepeatedCrashes()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        await h.Dcs.WriteConfigAsync(new DcsConfig { Ttl = 10, LoopWait = 1, Paused = true }, CancellationToken.None);
        for (var crash = 0; crash < 3; crash++)
        {
            h.Node.Crash();
            await h.CycleAsync();
        }
        await h.CycleAsync();
        await h.CycleAsync();
        Assert.True(h.Dcs.Leader is not null || h.Node.Running,
            "paused cluster left with no leader and no running PostgreSQL on the old primary; the replicas will not take over while paused");
    }

    /// <summary>
    /// Finding 6. ActionRunner wakes the loop when an action ends *either way*. An action that fails fast
    /// (pg_basebackup refused: max_wal_senders exhausted, pg_hba, a firewall REJECT) is decided again the
    /// next cycle, which now starts at once: a hot retry loop with no back-off (before, one loop_wait).
    /// Here 5 clone attempts happen in zero elapsed time.
    /// </summary>
    [Fact]
    public async Task AFastFailingCloneIsNotRetriedInAHotLoop()
    {
        var h = new AgentHarness("pg2");
        h.Dcs.Seed(initialize: "pg1");
        h.Dcs.ForceLeader("pg1", TimeSpan.FromMinutes(5));
        h.Member("pg1", NodeRole.Primary, 0x3000000);
        var refused = new TaskCompletionSource();
        refused.SetException(new PgWardenException(ExitCodes.OperationFailed, "pg_basebackup: number of requested standby connections exceeds max_wal_senders (test)"));
        h.Node.Gates["clone"] = refused;
        var wakes = 0;
        for (var i = 0; i < 5; i++)
        {
            var woken = h.State.WakeSignal;
            Assert.IsType<HaDecision.CloneLeader>(await h.CycleAsync(advance: TimeSpan.Zero));
            wakes += woken.IsCompleted ? 1 : 0;
        }
        await h.CycleAsync(advance: TimeSpan.Zero);
        var attempts = h.Events.Failures.Count(f => f.StartsWith("cloning pg1 failed", StringComparison.Ordinal));
        Assert.True(attempts <= 1 || wakes == 0,
            $"{attempts} clone attempts in zero elapsed time, {wakes} of them woke the loop at once (hot retry loop)");
    }

    /// <summary>
    /// Finding 7. DcsConfigRules accepts ttl 2 / loop_wait 1 (also live through PATCH /config). The fence
    /// margin is max(1 s, ttl/10) = 1 s, so the watchdog deadline is 1 s after the renewal was sent —
    /// exactly one loop_wait, and the next renewal is always later (the cycle reads the DCS first): the
    /// primary is fenced every cycle. Any accepted setting must leave at least two loop periods of slack.
    /// </summary>
    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    public void EveryAcceptedTtlLeavesTheFenceAtLeastTwoLoopsOfSlack(int ttl, int loopWait)
    {
        var config = new DcsConfig { Ttl = ttl, LoopWait = loopWait };
        var fenceAfter = TimeSpan.FromSeconds(ttl) - LeaseKeeper.FenceMargin(TimeSpan.FromSeconds(ttl));
        Assert.True(DcsConfigRules.Validate(config) is not null || fenceAfter > 2 * TimeSpan.FromSeconds(loopWait),
            $"ttl {ttl} / loop_wait {loopWait} is accepted, but the watchdog fires {fenceAfter.TotalSeconds:0.0} s after a renewal: one late cycle (or none) fences the primary");
    }
}
