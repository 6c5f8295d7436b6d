using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>How a node comes up: initialise, start as primary (lease first, then the fence, then PostgreSQL), clone and follow.</summary>
public sealed class BootstrapAndFollowTests
{
    [Fact]
    public async Task TheBootstrapNodeInitialisesTakesTheLeaseArmsTheFenceAndStartsAsPrimary()
    {
        var h = new AgentHarness("pg1");
        Assert.IsType<HaDecision.Initialize>(await h.CycleAsync());
        Assert.Equal(["initdb"], h.Node.TakeActions());

        var start = await h.CycleAsync();
        Assert.IsType<HaDecision.AcquireAndStartPrimary>(start);
        Assert.Equal("pg1", h.Dcs.Leader);
        // The fence was armed before PostgreSQL could accept a write, and watches the postmaster it started.
        Assert.Equal(["start primary", "bootstrap"], h.Node.TakeActions());
        Assert.Equal(["initdb", "arm", "start primary", "watch 1000", "bootstrap"], h.Node.Journal.ToList());
        Assert.NotNull(h.Watchdog.Deadline);

        var lead = await h.CycleAsync();
        Assert.IsType<HaDecision.Lead>(lead);
        Assert.Equal(new LeaderOptime(1, 0x3000000), h.Dcs.Optime);
        var member = h.Dcs.Member("pg1")!;
        Assert.Equal(NodeRole.Primary, member.Role);
        Assert.True(member.SlotsReady);
        // No promotion, no new timeline for a fresh cluster.
        Assert.Empty(h.Dcs.History);
    }

    [Fact]
    public async Task EveryRenewalMovesTheFenceDeadlineToBeforeTheLeaseCanExpire()
    {
        var h = new AgentHarness("pg1");
        h.Node.AsPrimary();
        await h.CycleAsync();
        for (var i = 0; i < 3; i++)
        {
            var before = h.Now;
            Assert.IsType<HaDecision.Lead>(await h.CycleAsync(advance: TimeSpan.Zero));
            // ttl 10 s, fence margin 1 s: the fence fires at most 9 s after the renewal started.
            Assert.Equal(before + TimeSpan.FromSeconds(9).Ticks, h.Watchdog.Deadline);
            h.Clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task AnEmptyReplicaClonesTheRunningLeaderAndFollowsIt()
    {
        var h = new AgentHarness("pg2");
        h.Dcs.Seed(initialize: "pg1");
        h.Dcs.ForceLeader("pg1", TimeSpan.FromMinutes(5));
        Assert.IsType<HaDecision.Wait>(await h.CycleAsync());
        h.Member("pg1", NodeRole.Primary, 0x3000000);
        Assert.Equal("pg1", Assert.IsType<HaDecision.CloneLeader>(await h.CycleAsync()).Leader);
        Assert.Equal(["clone pg1", "start replica of pg1"], h.Node.TakeActions().Where(a => a != "slots on standby"));
        Assert.IsType<HaDecision.Follow>(await h.CycleAsync());
        Assert.Equal("streaming", h.Dcs.Member("pg2")!.State);
        Assert.Null(h.Watchdog.Deadline);
    }

    [Fact]
    public async Task AReplicaIsRepointedWithAReloadWhenTheLeaderChanges()
    {
        var h = await AgentHarness.StreamingReplicaAsync("pg3");
        h.Node.TakeActions();
        h.Dcs.ForceLeader("pg2", TimeSpan.FromMinutes(5));
        h.Member("pg2", NodeRole.Primary, 0x3000100, timeline: 2);
        h.Node.Position = 0x3000000;
        h.Peers.Histories[("pg2", 2)] = TimelineHistory.Parse(2, "1\t0/3000080\tpromoted\n");
        await h.CycleUntilAsync(d => d is HaDecision.Follow f && f.Reason.Contains("repointing"));
        Assert.Contains("reload (upstream pg2)", h.Node.TakeActions());
        Assert.Equal(2, h.Node.TimelineLimit);
    }

    [Fact]
    public async Task ACleanRestartOfTheWholeClusterKeepsTheTimeline()
    {
        // `down` then `up`: the former primary stopped cleanly and is the most advanced: it leads again without a promotion.
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg1", optime: new LeaderOptime(1, 0x3000000 - 100));
        h.Node.AsPrimary(0x3000000);
        h.Member("pg2", NodeRole.Replica, 0x3000000 + 114);
        Assert.IsType<HaDecision.AcquireAndStartPrimary>(await h.CycleAsync());
        Assert.Equal("pg1", h.Dcs.Leader);
        Assert.DoesNotContain("promote", h.Node.TakeActions());
    }

    [Fact]
    public async Task ASecondBootstrapNodeWaitsForTheFirst()
    {
        var h = new AgentHarness("pg2");
        Assert.IsType<HaDecision.Wait>(await h.CycleAsync());
        Assert.Empty(h.Node.TakeActions());
    }
}
