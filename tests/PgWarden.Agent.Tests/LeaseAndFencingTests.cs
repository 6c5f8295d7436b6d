using PgWarden.Agent.Ha;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>The lease is renewed only by the loop, only while the node may lead, on a monotonic clock; writes stop before it can expire.</summary>
public sealed class LeaseAndFencingTests
{
    [Fact]
    public async Task TheLoopKeepsRenewingWhileABootstrapStatementWaitsOnASynchronousStandby()
    {
        // Fault 1, a blocked statement: bootstrap SQL waiting for a synchronous standby used to block
        // the loop, so nothing renewed the lease and nothing fenced. Now it runs beside the loop.
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg1");
        h.Node.AsPrimary();
        var blocked = new TaskCompletionSource();
        h.Node.Gates["bootstrap"] = blocked;
        await h.CycleAsync(waitForAction: false);
        Assert.Equal("pg1", h.Dcs.Leader);
        for (var i = 0; i < 30; i++)
        {
            var before = h.Now;
            var d = await h.CycleAsync(waitForAction: false);
            Assert.IsType<HaDecision.Lead>(d);
            Assert.Equal(before + TimeSpan.FromSeconds(9).Ticks, h.Watchdog.Deadline);
        }
        Assert.Equal("pg1", h.Dcs.Leader);
        blocked.SetResult();
        await h.Agent.WhenIdleAsync();
        Assert.Contains("bootstrap", h.Node.TakeActions());
    }

    [Fact]
    public async Task WithTheDcsUnreachableThePrimaryStaysWritableOnlyWhileTheLeaseIsSafeThenDemotes()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Dcs.Unreachable = true;
        var fence = h.Watchdog.Deadline!.Value;
        // ttl 10 s, renewed one loop ago; the demote margin is max(35 % of the ttl, fence margin 1 s + one
        // loop 1 s + one DCS call 2 s) = 4 s, the fence's 1 s.
        var waits = 0;
        HaDecision d;
        while ((d = await h.CycleAsync()) is HaDecision.Wait)
        {
            waits++;
            Assert.True(h.Node.Running);
            Assert.False(h.Node.InRecovery);
        }
        Assert.Equal(5, waits);
        // The agent demoted before the fence would have had to (the cycle ran one loop_wait before now).
        Assert.True(h.Now - TimeSpan.FromSeconds(1).Ticks < fence);
        var demote = Assert.IsType<HaDecision.Demote>(d);
        Assert.True(demote.RestartReadOnly);
        Assert.Equal(["stop Immediate", "start replica of none"], h.Node.TakeActions().Where(a => a != "slots on standby"));
        Assert.True(h.Node.InRecovery);
        Assert.Null(h.Watchdog.Deadline);
    }

    [Fact]
    public async Task ALostLeaseStopsTheWritablePrimaryAtOnce()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Dcs.ForceLeader("pg2", TimeSpan.FromSeconds(10));
        var d = Assert.IsType<HaDecision.Demote>(await h.CycleAsync());
        Assert.False(d.RestartReadOnly);
        Assert.Equal(["stop Immediate"], h.Node.TakeActions());
        Assert.False(h.Agent.Lease.Held);
    }

    [Fact]
    public async Task AWallClockStepNeverLengthensTheLease()
    {
        // Fault 11: lease deadlines on the monotonic clock.
        var h = await AgentHarness.RunningLeaderAsync();
        var remaining = h.Agent.Lease.Remaining!.Value;
        h.Clock.StepWallClock(TimeSpan.FromHours(-1));
        Assert.Equal(remaining, h.Agent.Lease.Remaining);
        h.Clock.StepWallClock(TimeSpan.FromHours(2));
        Assert.Equal(remaining, h.Agent.Lease.Remaining);
        h.Clock.Advance(remaining);
        Assert.Null(h.Agent.Lease.Remaining);
    }

    [Fact]
    public async Task WithoutAWorkingWatchdogTheLeaseIsNotTaken()
    {
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg1");
        h.Node.AsPrimary();
        h.Watchdog.Healthy = false;
        await h.CycleAsync();
        Assert.Null(h.Dcs.Leader);
        Assert.Contains(h.Events.Failures, f => f.Contains("watchdog"));
        h.Watchdog.Healthy = true;
        await h.CycleAsync();
        Assert.Equal("pg1", h.Dcs.Leader);
    }

    [Fact]
    public async Task AGracefulStopReleasesTheLeaseAfterStoppingPostgres()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        await h.Agent.ShutdownAsync();
        Assert.Equal(["stop Fast"], h.Node.TakeActions());
        Assert.Null(h.Dcs.Leader);
        Assert.Null(h.Watchdog.Deadline);
    }

    [Fact]
    public async Task AStopThatOutlastsTheLeaseKeepsItRenewedSoTheFenceDoesNotKillTheShutdown()
    {
        // Hostile review 17: a fast shutdown writing a long checkpoint outlived the fence deadline (ttl 10 s,
        // fence at 9 s) and was SIGKILLed before the WAL senders had sent the last WAL.
        var h = await AgentHarness.RunningLeaderAsync();
        var gate = new TaskCompletionSource();
        h.Node.Gates["stop"] = gate;
        var shutdown = h.Agent.ShutdownAsync();
        for (var second = 0; second < 30; second++)
        {
            h.Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
            Assert.True(h.Watchdog.Deadline > h.Now, $"the fence deadline passed {second + 1} s into the stop");
            Assert.Equal("pg1", h.Dcs.Leader);
        }
        gate.SetResult();
        await shutdown.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(h.Dcs.Leader);
        Assert.Null(h.Watchdog.Deadline);
    }

    [Fact]
    public async Task AStopCutOffFromTheDcsIsStillFencedBeforeTheLeaseCanExpire()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        var gate = new TaskCompletionSource();
        h.Node.Gates["stop"] = gate;
        var deadline = h.Watchdog.Deadline;
        h.Dcs.Unreachable = true;
        var shutdown = h.Agent.ShutdownAsync();
        for (var second = 0; second < 15; second++)
        {
            h.Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }
        Assert.Equal(deadline, h.Watchdog.Deadline);
        Assert.True(h.Watchdog.Deadline <= h.Now);
        gate.SetResult();
        await shutdown.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(h.Watchdog.Deadline);
    }

    [Fact]
    public async Task AChangedTtlMovesTheLeaseAndTheFenceFollowsTheTtlTheLeaseReallyHas()
    {
        // A lease keeps the TTL it was granted with: deadlines computed from a changed ttl would outlive it.
        var h = await AgentHarness.RunningLeaderAsync();
        Assert.Equal(TimeSpan.FromSeconds(10), h.Dcs.LeaderTtl);
        await h.Dcs.WriteConfigAsync(new DcsConfig { Ttl = 30, LoopWait = 1 }, CancellationToken.None);
        var before = h.Now;
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync(advance: TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromSeconds(30), h.Dcs.LeaderTtl);
        Assert.Equal(before + TimeSpan.FromSeconds(27).Ticks, h.Watchdog.Deadline);
        Assert.Equal(h.Dcs.HeldLeaderLease, h.Watchdog.Lease);
    }

    [Fact]
    public async Task WithoutTheDcsAPrimaryStopsBeforeItIsMaximumLagAheadOfWhatItRecorded()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Dcs.Unreachable = true;
        h.Node.Position += 2 * 1024 * 1024;
        var d = Assert.IsType<HaDecision.Demote>(await h.CycleAsync());
        Assert.Contains("maximum_lag_on_failover", d.Reason);
        Assert.True(h.Node.InRecovery);
    }

    [Fact]
    public async Task APrimaryWhoseKeyIsDeletedUnderItStopsWritingInsteadOfRetakingTheKey()
    {
        // netns quorum-loss finding: a late release deleted the key while the lease still had seconds
        // left; the agent used to retake it while writable, racing replicas that saw no leader either.
        var h = await AgentHarness.RunningLeaderAsync();
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        var d = Assert.IsType<HaDecision.Demote>(await h.CycleAsync());
        Assert.Contains("vanished", d.Reason);
        Assert.True(h.Node.InRecovery);
        Assert.Null(h.Dcs.Leader);
    }
}
