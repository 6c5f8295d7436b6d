using PgWarden.Core.Dcs;
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

    /// <summary>
    /// Nemesis seed 599237024 (synchronous mode): pg1 was rewound from pg3 and lost its agent before it
    /// started; with no leader it started read-only without an upstream, could never reach consistency,
    /// published no position — and every other node waited for it for good. It publishes its rewind bound
    /// until it is consistent, and a start that streams from a leader forgets the bound.
    /// </summary>
    [Fact]
    public async Task ARewoundNodeThatCannotReachConsistencyPublishesItsRewindBoundUntilItIs()
    {
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg3", config: new DcsConfig { SynchronousMode = true });
        h.Node.AsStandby(0x3000000);
        h.Node.ControlState = DatabaseClusterState.InArchiveRecovery;
        var bound = new RewindBound(2, 0x3100000);
        h.Node.RecordedRewindBound = bound;
        h.Node.NeverConsistent = true;
        await h.CycleAsync(waitForAction: false);
        await AgentHarness.EventuallyAsync(() => h.Node.Actions.Contains("start replica of none"), "the read-only start");
        await h.CycleAsync(waitForAction: false);
        Assert.Equal(bound, h.Dcs.Member("pg1")?.HoldsAtMost);
        // pg3, the rewind's source, covers it and may lead; pg2, short of it, may not.
        h.Member("pg2", NodeRole.Replica, 0x30FF000, timeline: 2);
        var view = await h.Dcs.ReadAsync(CancellationToken.None);
        string[] nodes = ["pg1", "pg2", "pg3"];
        Assert.Null(Eligibility.WhyNot(view, new LeadershipCandidate("pg3", 2, 0x3100000, 100, false), nodes));
        Assert.Contains("pg1", Eligibility.WhyNot(view, new LeadershipCandidate("pg2", 2, 0x30FF000, 100, false), nodes));

        // Consistent at last: it reports its own position and the bound is gone, also from its home directory.
        h.Node.NeverConsistent = false;
        await h.Agent.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await h.CycleAsync();
        Assert.Null(h.Dcs.Member("pg1")?.HoldsAtMost);
        Assert.NotNull(h.Dcs.Member("pg1")?.WalPosition);
        Assert.Null(h.Node.RecordedRewindBound);
    }

    /// <summary>
    /// Hostile review 15, finding 5 (synchronous mode): a failed node restarted read-only without an upstream
    /// accepts connections once consistent, while it still replays the WAL in its own pg_wal; its replay
    /// position then understates what it holds, and a replica less advanced than it really is could be
    /// chosen and lose acknowledged commits. Its position is unknown until the startup process waits for WAL.
    /// </summary>
    [Fact]
    public async Task AReplicaStillReplayingItsOwnWalPublishesNoPositionUntilItIsDone()
    {
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg3", config: new DcsConfig { SynchronousMode = true });
        h.Node.AsStandby(0x3000000);
        h.Node.ReceivedNothing = true;
        h.Node.StartupWaitEvent = ""; // replaying
        await h.CycleAsync();
        await h.CycleAsync();
        Assert.True(h.Node.Running);
        Assert.Null(h.Dcs.Member("pg1")?.WalPosition);

        // Running restore_command (a segment boundary while it replays) or a paused replay is not "done".
        h.Node.StartupWaitEvent = "RestoreCommand";
        await h.CycleAsync();
        Assert.Null(h.Dcs.Member("pg1")?.WalPosition);
        h.Node.StartupWaitEvent = "RecoveryRetrieveRetryInterval"; // read all it has
        await h.CycleAsync();
        Assert.Equal(0x3000000, h.Dcs.Member("pg1")?.WalPosition);
        // Once done, a sample that catches restore_command polling the archive does not make it unknown again.
        h.Node.StartupWaitEvent = "RestoreCommand";
        await h.CycleAsync();
        Assert.Equal(0x3000000, h.Dcs.Member("pg1")?.WalPosition);

        // A new postmaster (a crash) replays its own WAL again.
        h.Node.StartupWaitEvent = "";
        h.Node.Crash();
        for (var i = 0; i < 10 && !h.Node.Running; i++)
        {
            await h.CycleAsync(advance: TimeSpan.FromSeconds(5));
        }
        await h.CycleAsync();
        Assert.True(h.Node.Running);
        Assert.Null(h.Dcs.Member("pg1")?.WalPosition);
        // Once it streams, what it received counts.
        h.Node.ReceivedNothing = false;
        await h.CycleAsync();
        Assert.Equal(0x3000000, h.Dcs.Member("pg1")?.WalPosition);
    }

    [Fact]
    public async Task ARewindRecordsItsBoundAndAStartThatStreamsFromTheLeaderForgetsIt()
    {
        var h = await DivergedReplicaAsync();
        h.Node.BoundAfterRewind = new RewindBound(2, 0x3100000);
        var rewind = h.Node.Gates["rewind"] = new TaskCompletionSource();
        for (var i = 0; i < 10 && await h.CycleAsync(waitForAction: false) is not HaDecision.Rejoin; i++)
        {
            await Task.Delay(50); // the divergence check fetches the leader's history in the background
        }
        await AgentHarness.EventuallyAsync(() => h.Node.Actions.Contains("stop Fast"), "the stop before pg_rewind");
        // Started as the leader's replica it streams (and may acknowledge) WAL beyond the bound before it is
        // consistent: the bound must be gone even while it is not consistent yet.
        h.Node.NeverConsistent = true;
        rewind.SetResult();
        await AgentHarness.EventuallyAsync(() => h.Node.Actions.Contains("start replica of pg2"), "the start as pg2's replica");
        Assert.Contains(h.Events.Decisions.ToList(), d => d.Contains("holds at most timeline 2 up to 0/3100000"));
        Assert.Null(h.Node.RecordedRewindBound);
        h.Node.NeverConsistent = false;
        await h.Agent.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
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
