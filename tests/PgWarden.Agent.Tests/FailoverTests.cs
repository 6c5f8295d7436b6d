using PgWarden.Agent.Ha;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Taking over: who may, in what order the promotion happens, and what the history records.</summary>
public sealed class FailoverTests
{
    [Fact]
    public async Task WhenTheLeaseExpiresTheReplicaCreatesTheSlotsThenPromotesAndRecordsTheNewTimeline()
    {
        var h = await AgentHarness.StreamingReplicaAsync(leaseTtl: TimeSpan.FromSeconds(10));
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        var d = await h.CycleUntilAsync(x => x is HaDecision.AcquireAndPromote);
        Assert.Equal("pg2", h.Dcs.Leader);
        // Fault 13: the slots exist before the promotion, so a replica pointed at the new primary finds its slot.
        Assert.Equal(["slots on standby", "promote", "reload (upstream none)", "checkpoint"], h.Node.TakeActions());
        // Fault 12: the history records the new timeline, not the one before the promotion.
        var entry = Assert.Single(h.Dcs.History);
        Assert.Equal((2L, "pg2"), (entry.Timeline, entry.NewLeader));
        Assert.Contains(h.Events.Decisions, r => r.Contains("promoted to primary on timeline 2"));
        Assert.Equal(1, h.Events.Promotions);
        await h.CycleAsync();
        Assert.True(h.Dcs.Member("pg2")!.SlotsReady);
        Assert.NotNull(h.Watchdog.Deadline);
    }

    [Fact]
    public async Task AnAsynchronousFailoverRecordsTheWalItDidNotReceive()
    {
        var h = await AgentHarness.StreamingReplicaAsync(leaseTtl: TimeSpan.FromSeconds(10), position: 0x3000000);
        await h.Dcs.PublishLeaderPositionAsync(new LeaderOptime(1, 0x3000000 + 4096), CancellationToken.None);
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        await h.CycleUntilAsync(x => x is HaDecision.AcquireAndPromote);
        Assert.Contains("up to 4096 bytes of WAL the last leader recorded never reached this node", h.Dcs.History.Single().Reason);
        Assert.Contains(h.Events.Failures, f => f.Contains("4096 bytes"));
    }

    [Fact]
    public async Task AStaleNodeStartedAloneNeverTakesTheLease()
    {
        // Fault 2: A crashed, B promoted (timeline 2) and acknowledged writes, then B and C crashed; A starts alone.
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg1", optime: new LeaderOptime(2, 0x5000000),
            history: new TimelineHistoryEntry(2, 0x4000000, "pg2", "failover", DateTimeOffset.UnixEpoch));
        h.Node.AsPrimary(0x4800000);
        h.Node.ControlState = DatabaseClusterState.InProduction; // it crashed
        for (var i = 0; i < 10; i++)
        {
            await h.CycleAsync();
        }
        Assert.Null(h.Dcs.Leader);
        Assert.True(h.Node.Running && h.Node.InRecovery, "it runs read-only");
        Assert.Contains(h.Events.Decisions, r => r.Contains("timeline 1 is older than timeline 2"));
        Assert.DoesNotContain("promote", h.Node.TakeActions());
        // Without a leader it may not follow the archive into timeline 2 either.
        Assert.Equal(1, h.Node.TimelineLimit);
    }

    [Fact]
    public async Task AStaleCleanlyStoppedPrimaryDoesNotStartWritable()
    {
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg1", history: new TimelineHistoryEntry(2, 0x4000000, "pg2", "failover", DateTimeOffset.UnixEpoch));
        h.Node.AsPrimary(0x9000000);
        for (var i = 0; i < 5; i++)
        {
            await h.CycleAsync();
        }
        Assert.Null(h.Dcs.Leader);
        Assert.DoesNotContain("start primary", h.Node.TakeActions());
    }

    [Fact]
    public async Task WhilePausedAManualFailoverToThisNodeIsCarriedOut()
    {
        // Fault 3: pause used to swallow requested switchovers and failovers.
        var h = await AgentHarness.StreamingReplicaAsync(leaseTtl: TimeSpan.FromSeconds(10));
        await h.Dcs.WriteConfigAsync(new DcsConfig { Paused = true }, CancellationToken.None);
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        h.Member("pg1", NodeRole.Stopped, 0x3000000, running: false);
        Assert.Contains("paused", (await h.CycleAsync()).Reason);
        Assert.Null(h.Dcs.Leader);
        await h.Dcs.RequestFailoverAsync(new FailoverRequest(FailoverKind.Failover, null, "pg2", h.Clock.GetUtcNow()), CancellationToken.None);
        Assert.IsType<HaDecision.AcquireAndPromote>(await h.CycleAsync());
        Assert.Equal("pg2", h.Dcs.Leader);
        Assert.Null(h.Dcs.Failover);
    }

    [Fact]
    public async Task ARequestForAnotherNodeIsWaitedForOnlyUntilItsDeadline()
    {
        var h = await AgentHarness.StreamingReplicaAsync(leaseTtl: TimeSpan.FromSeconds(10));
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        h.Member("pg3", NodeRole.Replica, 0x3000000);
        await h.Dcs.RequestFailoverAsync(new FailoverRequest(FailoverKind.Failover, null, "pg3", h.Clock.GetUtcNow()) { Deadline = h.Clock.GetUtcNow().AddSeconds(5) }, CancellationToken.None);
        for (var i = 0; i < 5; i++)
        {
            Assert.Contains("pg3", Assert.IsType<HaDecision.Wait>(await h.CycleAsync()).Reason);
        }
        // pg3 never took over: past the deadline the best node does.
        Assert.IsType<HaDecision.AcquireAndPromote>(await h.CycleUntilAsync(d => d is HaDecision.AcquireAndPromote, max: 3));
        Assert.Equal("pg2", h.Dcs.Leader);
    }

    [Fact]
    public async Task AFailedPromotionStopsPostgresReleasesTheLeaseAndLeavesItToOthers()
    {
        var h = await AgentHarness.StreamingReplicaAsync(leaseTtl: TimeSpan.FromSeconds(10));
        var stuck = new TaskCompletionSource();
        stuck.SetException(new Core.Errors.PgWardenException(Core.Errors.ExitCodes.OperationFailed, "promoting node pg2 failed: pg_ctl: server did not promote in time"));
        h.Node.Gates["promote"] = stuck;
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        await h.CycleUntilAsync(x => x is HaDecision.AcquireAndPromote);
        Assert.Null(h.Dcs.Leader);
        Assert.False(h.Node.Running);
        Assert.Contains("stop Immediate", h.Node.TakeActions());
        Assert.Contains(h.Events.Failures, f => f.Contains("the promotion failed"));
        // It does not grab the lease again at once, and tells the others so they do not wait for it.
        h.Node.Gates.TryRemove("promote", out _);
        for (var i = 0; i < 5; i++)
        {
            Assert.IsNotType<HaDecision.AcquireAndPromote>(await h.CycleAsync());
        }
        Assert.True(h.Dcs.Member("pg2")!.PromotionFailed);
        Assert.Null(h.Dcs.Leader);
    }
}
