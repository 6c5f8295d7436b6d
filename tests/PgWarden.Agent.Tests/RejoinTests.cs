using PgWarden.Agent.Ha;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Faults 6 and 7: divergence from the leader's history, pg_rewind that retries, re-clones that keep bounded copies.</summary>
public sealed class RejoinTests
{
    private const long SwitchPoint = 0x3000080;

    /// <summary>A replica (nofailover in the original report) that received more WAL from the old primary than the node that won.</summary>
    private static async Task<AgentHarness> DivergedReplicaAsync()
    {
        var h = new AgentHarness("pg3");
        h.Node.AsStandby(SwitchPoint + 0x1000);
        h.Node.StreamingFails = true;
        h.Dcs.ForceLeader("pg2", TimeSpan.FromMinutes(5));
        h.Member("pg2", NodeRole.Primary, 0x3100000, timeline: 2);
        h.Peers.Histories[("pg2", 2)] = TimelineHistory.Parse(2, $"1\t{Lsn.Format(SwitchPoint)}\tno recovery target specified\n");
        return h;
    }

    [Fact]
    public async Task AReplicaWhoseWalLeftTheLeadersHistoryIsRewoundInsteadOfWaitingForever()
    {
        var h = await DivergedReplicaAsync();
        await h.CycleUntilAsync(d => d is HaDecision.Rejoin, max: 10);
        var actions = h.Node.TakeActions();
        Assert.Contains("stop Fast", actions);
        Assert.Contains("rewind pg2", actions);
        Assert.Contains("start replica of pg2", actions);
        Assert.Empty(h.Node.Aside);
    }

    [Fact]
    public async Task AReplicaThatStreamsFromTheLeaderIsNeverRewound()
    {
        // Its restartpoint may still show the old timeline while it replays the new one past the switch point.
        var h = await DivergedReplicaAsync();
        h.Node.StreamingFails = false;
        for (var i = 0; i < 10; i++)
        {
            Assert.IsNotType<HaDecision.Rejoin>(await h.CycleAsync());
        }
        Assert.DoesNotContain("rewind pg2", h.Node.TakeActions());
    }

    [Fact]
    public async Task AReplicaThatIsAPrefixOfTheLeadersHistoryJustFollows()
    {
        var h = await DivergedReplicaAsync();
        h.Node.Position = SwitchPoint;
        for (var i = 0; i < 5; i++)
        {
            Assert.IsNotType<HaDecision.Rejoin>(await h.CycleAsync());
        }
        Assert.DoesNotContain("rewind pg2", h.Node.TakeActions());
    }

    [Fact]
    public async Task TransientRewindFailuresAreRetriedBeforeAnyReclone()
    {
        var h = await DivergedReplicaAsync();
        h.Node.RewindOutcomes.Enqueue(new RewindOutcome(false, true, "could not connect to server: Connection refused"));
        h.Node.RewindOutcomes.Enqueue(new RewindOutcome(false, true, "could not connect to server: Connection refused"));
        await h.CycleUntilAsync(d => d is HaDecision.Rejoin, max: 10);
        var actions = h.Node.TakeActions();
        Assert.Equal(3, actions.Count(a => a == "rewind pg2"));
        Assert.DoesNotContain("move aside reclone", actions);
        Assert.Equal(2, h.Events.Failures.Count(f => f.Contains("will retry")));
    }

    [Fact]
    public async Task APermanentRewindFailureReclonesAndKeepsOnlyTheNewestCopyAside()
    {
        var h = await DivergedReplicaAsync();
        h.Node.Aside.Add("data.reclone-old");
        h.Node.RewindOutcomes.Enqueue(new RewindOutcome(false, false, "could not find common ancestor of the source and target cluster's timelines"));
        await h.CycleUntilAsync(d => d is HaDecision.Rejoin, max: 10);
        var actions = h.Node.TakeActions();
        Assert.Equal(1, actions.Count(a => a == "rewind pg2"));
        Assert.Contains("move aside reclone", actions);
        Assert.Contains("clone pg2", actions);
        Assert.Single(h.Node.Aside);
        Assert.NotEqual("data.reclone-old", h.Node.Aside[0]);
        await h.CycleAsync();
        Assert.Equal(1, h.State.Current.AsideCopies);
    }

    [Fact]
    public async Task AFormerPrimaryWaitsForTheNewLeadersCheckpointBeforeRewinding()
    {
        var h = new AgentHarness("pg1");
        h.Node.AsPrimary(0x3000200);
        h.Node.ControlState = DatabaseClusterState.InProduction;
        h.Dcs.ForceLeader("pg2", TimeSpan.FromMinutes(5));
        h.Dcs.SetMember(new Core.Dcs.MemberInfo("pg2", NodeRole.Primary, "running", true, 2, 0x3100000, null, "", "pg2", 5432, 100, false, h.Clock.GetUtcNow())
        {
            CheckpointTimeline = 1,
            SlotsReady = true,
        });
        for (var i = 0; i < 3; i++)
        {
            Assert.IsType<HaDecision.Wait>(await h.CycleAsync());
        }
        Assert.DoesNotContain("rewind pg2", h.Node.TakeActions());
        h.Member("pg2", NodeRole.Primary, 0x3100000, timeline: 2);
        await h.CycleUntilAsync(d => d is HaDecision.Rejoin);
        Assert.Contains("rewind pg2", h.Node.TakeActions());
    }

    [Fact]
    public async Task ACleanlyStoppedFormerPrimaryInTheLeadersHistoryStartsAsAReplicaWithoutRewind()
    {
        // After a switchover: the old primary's shutdown checkpoint reached the new leader before it promoted.
        var h = new AgentHarness("pg1");
        h.Node.AsPrimary(0x3000000);
        h.Dcs.ForceLeader("pg2", TimeSpan.FromMinutes(5));
        h.Member("pg2", NodeRole.Primary, 0x3100000, timeline: 2);
        h.Peers.Histories[("pg2", 2)] = TimelineHistory.Parse(2, "1\t0/3000078\tno recovery target specified\n");
        await h.CycleUntilAsync(d => d is HaDecision.StartReplica s && s.Upstream == "pg2");
        Assert.DoesNotContain("rewind pg2", h.Node.TakeActions());
    }

    [Fact]
    public async Task ReinitReclonesOnRequest()
    {
        var h = await AgentHarness.StreamingReplicaAsync("pg2");
        h.State.View = h.Agent.LastView;
        h.State.Update(s => s with { Role = NodeRole.Replica });
        Assert.True(h.State.RequestReinit());
        Assert.IsType<HaDecision.Reclone>(await h.CycleAsync());
        Assert.Contains("clone pg1", h.Node.TakeActions());
        Assert.False(h.State.ReinitPending);
    }

    [Fact]
    public async Task APgRewindThatNeverReachesTheLeaderLeavesTheDataWhereItIs()
    {
        var h = await DivergedReplicaAsync();
        for (var i = 0; i < 5; i++)
        {
            h.Node.RewindOutcomes.Enqueue(new RewindOutcome(false, true, "could not connect to server: Connection refused"));
        }
        await h.CycleUntilAsync(d => d is HaDecision.Rejoin, max: 10);
        var actions = h.Node.TakeActions();
        Assert.Equal(5, actions.Count(a => a == "rewind pg2"));
        Assert.DoesNotContain("move aside reclone", actions);
        Assert.Empty(h.Node.Aside);
    }

    [Fact]
    public async Task NoRecloneAgainstALeaderThatDoesNotAnswerAsPrimary()
    {
        var h = await DivergedReplicaAsync();
        h.Peers.Unreachable["pg2"] = true;
        h.Node.RewindOutcomes.Enqueue(new RewindOutcome(false, false, "could not find common ancestor"));
        await h.CycleUntilAsync(d => d is HaDecision.Rejoin, max: 10);
        Assert.DoesNotContain("move aside reclone", h.Node.TakeActions());
        Assert.Contains(h.Events.Failures, f => f.Contains("not re-cloning from pg2"));
    }

    [Fact]
    public async Task AReplicaThatDoesNotStreamForAMinuteWhileTheLeaderAnswersIsRecloned()
    {
        // After a failover to a freshly cloned node, the WAL this replica needs may be gone from it.
        var h = await AgentHarness.StreamingReplicaAsync("pg3");
        h.Node.StreamingFails = true;
        var d = await h.CycleUntilAsync(x => x is HaDecision.Reclone, max: 80);
        Assert.Contains("has not streamed", d.Reason);
        Assert.Contains("clone pg1", h.Node.TakeActions());
    }
}
