using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Crashed and hung PostgreSQL: restart budgets, fencing, giving the lease up.</summary>
public sealed class SupervisionTests
{
    [Fact]
    public async Task ACrashedPrimaryIsRestartedInPlaceThenHandsOverThenTheLeaseGoes()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Member("pg2", NodeRole.Replica, 0x3000000);
        h.Node.Crash();
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        Assert.Equal(["start primary"], h.Node.TakeActions());
        Assert.True(h.Node.Running);
        Assert.Equal("pg1", h.Dcs.Leader);
        await h.CycleAsync();
        Assert.Null(h.Dcs.Failover);

        // A second crash within the minute: restarted (crash recovery keeps what no replica received) and
        // switched over to the streaming replica, where a failover would lose those commits.
        h.Node.Crash();
        await h.CycleAsync();
        Assert.Equal(["start primary"], h.Node.TakeActions());
        Assert.Equal("pg1", h.Dcs.Leader);
        await h.CycleAsync();
        Assert.Equal(("pg1", "pg2"), (h.Dcs.Failover?.From, h.Dcs.Failover?.To));
        Assert.IsType<HaDecision.HandOver>(await h.CycleAsync(waitForAction: false));

        // A third crash within the minute: the node is failed and the lease released at once.
        var r = await AgentHarness.RunningLeaderAsync();
        for (var crash = 0; crash < 2; crash++)
        {
            r.Node.Crash();
            await r.CycleAsync();
        }
        r.Node.Crash();
        await r.CycleAsync();
        Assert.IsType<HaDecision.ReleaseLease>(await r.CycleAsync());
        Assert.Null(r.Dcs.Leader);
        Assert.False(r.Node.Running);
    }

    /// <summary>
    /// CI (HaFailoverTests, 2 of 4 runs): after the second crash the hand-over was requested at once,
    /// while the replicas' WAL receivers were still reconnecting to the restarted primary; the
    /// hand-over was abandoned (the target had not caught up) and never requested again, so the
    /// twice-crashed primary stayed the leader. It is asked again until it happens or the window ends.
    /// </summary>
    [Fact]
    public async Task AHandOverAfterCrashesThatIsAbandonedIsRequestedAgainOnceTheReplicaCatchesUp()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Member("pg2", NodeRole.Replica, h.Node.Position);
        h.Node.Crash();
        await h.CycleAsync();
        h.Node.Crash();
        await h.CycleAsync();
        h.Peers.Received["pg2"] = h.Node.Position - 0x1000; // still reconnecting: behind the restarted primary
        await h.CycleAsync();
        Assert.Equal(("pg1", "pg2"), (h.Dcs.Failover?.From, h.Dcs.Failover?.To));
        Assert.IsType<HaDecision.HandOver>(await h.CycleAsync(waitForAction: false));
        for (var i = 0; i < 15 && h.Dcs.Failover is not null; i++)
        {
            await Task.Delay(20);
            await h.CycleAsync(waitForAction: false, advance: TimeSpan.FromSeconds(1));
        }
        await h.Agent.WhenIdleAsync();
        Assert.Contains(h.Events.Failures, f => f.Contains("switchover to pg2 abandoned"));
        Assert.Equal("pg1", h.Dcs.Leader);

        // The replica streams again: the hand-over is requested anew and completes.
        h.Peers.Received["pg2"] = h.Node.Position + 0x10000;
        h.Member("pg2", NodeRole.Replica, h.Node.Position);
        for (var i = 0; i < 10 && h.Dcs.Leader == "pg1"; i++)
        {
            await h.CycleAsync(advance: TimeSpan.FromSeconds(1));
            h.Member("pg2", NodeRole.Replica, h.Node.Position);
        }
        Assert.True(h.Dcs.Leader is null, $"leader {h.Dcs.Leader}: the abandoned hand-over after two crashes was never requested again");
    }

    [Fact]
    public async Task ACrashRestartIsNotRetriedOnceTheLeaseIsPastItsFenceDeadline()
    {
        // The DCS is cut off while crash recovery runs; the fence kills the recovering postmaster at the
        // lease's deadline. A retry then would be a writable primary without a lease or a fence.
        var h = await AgentHarness.RunningLeaderAsync();
        h.Node.NeverConsistent = true;
        h.Node.Crash();
        await h.CycleAsync(waitForAction: false);
        var started = new List<string>();
        for (var i = 0; i < 100 && !started.Contains("start primary"); i++)
        {
            await Task.Delay(20);
            started.AddRange(h.Node.TakeActions());
        }
        Assert.Equal(["start primary"], started);
        h.Dcs.Unreachable = true;
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        h.Node.Crash();
        await Task.Delay(1000);
        Assert.DoesNotContain("start primary", h.Node.TakeActions());
        h.Node.NeverConsistent = false;
        await h.Agent.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(h.Node.Running);
    }

    [Fact]
    public async Task AHandOverAfterCrashesThatFindsNoReplicaWithinAMinuteIsDropped()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Node.Crash();
        await h.CycleAsync();
        h.Node.Crash();
        await h.CycleAsync();
        Assert.True(h.Node.Running);
        // No replica streams for over a minute: the node stays the primary and forgets the hand-over…
        for (var i = 0; i < 13; i++)
        {
            await h.CycleAsync(advance: TimeSpan.FromSeconds(5));
        }
        Assert.Contains(h.Events.Failures, f => f.Contains("stays the primary"));
        // …so a replica that streams hours later does not get a surprise switchover.
        h.Member("pg2", NodeRole.Replica, 0x3000000);
        await h.CycleAsync();
        await h.CycleAsync();
        Assert.Null(h.Dcs.Failover);
        Assert.Equal("pg1", h.Dcs.Leader);
    }

    [Fact]
    public async Task AHungPrimaryIsFencedAfterThreeUnansweredChecksAndGivesTheLeaseUp()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Node.Hung = true;
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        // The third unanswered check fences it (every process killed) and the same cycle lets the lease go.
        Assert.IsType<HaDecision.ReleaseLease>(await h.CycleAsync());
        Assert.Contains("kill tree", h.Node.TakeActions());
        Assert.Contains(h.Events.Failures, f => f.Contains("hung"));
        Assert.Null(h.Dcs.Leader);
    }

    [Fact]
    public async Task AFencedPrimaryOnATimelineNoOtherNodeHasComesBackAndLeadsAgain()
    {
        // CI, after etcd came back: pg3 promoted to timeline 2 and was fenced as hung; pg1 and pg2
        // (timeline 1) may never lead, and the fenced node waited for them: no primary for good.
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg1", history: new TimelineHistoryEntry(2, 0x3000000, "pg1", "failover", h.Clock.GetUtcNow()));
        h.Node.AsPrimary(timeline: 2);
        h.Member("pg2", NodeRole.Replica, 0x3000000);
        h.Member("pg3", NodeRole.Replica, 0x3000000);
        await h.CycleUntilAsync(d => d is HaDecision.Lead && h.Node.Running);
        h.Node.Hung = true;
        await h.CycleUntilAsync(d => d is HaDecision.ReleaseLease);
        Assert.Contains("kill tree", h.Node.TakeActions());
        h.Node.Hung = false;
        // Not at loop speed: the first recovery waits 5 s after the fence.
        for (var i = 0; i < 3; i++)
        {
            await h.CycleAsync();
        }
        Assert.DoesNotContain(h.Node.TakeActions(), a => a.StartsWith("start", StringComparison.Ordinal));
        await h.CycleUntilAsync(d => d is HaDecision.Lead && h.Node.Running && !h.Node.InRecovery);
        Assert.Equal("pg1", h.Dcs.Leader);
        Assert.Contains(h.Events.Decisions, d => d.Contains("no other node may take over"));
    }

    [Fact]
    public async Task ACrashedReplicaIsRestartedWithBackOff()
    {
        var h = await AgentHarness.StreamingReplicaAsync("pg2");
        h.Node.TakeActions();
        h.Node.Crash();
        Assert.IsType<HaDecision.StartReplica>(await h.CycleAsync());
        Assert.Contains("start replica of pg1", h.Node.TakeActions());
    }
}
