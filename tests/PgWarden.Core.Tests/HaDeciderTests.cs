using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using static PgWarden.Core.Tests.HaTestData;

namespace PgWarden.Core.Tests;

/// <summary>Every branch of the pure HA decision, named after the rule it checks.</summary>
public class HaDeciderTests
{
    private static readonly TimeSpan Safe = TimeSpan.FromSeconds(9);

    // --- The lease holder ---------------------------------------------------------------------

    [Fact]
    public void LeaderRenewsItsLease() =>
        Is<HaDecision.Lead>(Decide(View("pg1"), Primary("pg1", 100, Safe)));

    [Fact]
    public void LeaderKeepsRenewingWhileItsPostgresRestarts() =>
        Assert.Contains("restarts", Is<HaDecision.Lead>(Decide(View("pg1"), Stopped("pg1", LocalDataState.Primary, state: PostmasterState.Crashed) with { LeaseRemaining = Safe })).Reason);

    [Fact]
    public void LeaderKeepsRenewingWhileALongActionRuns() =>
        Assert.Contains("handing over", Is<HaDecision.Lead>(Decide(View("pg1"), Primary("pg1", 100, Safe) with { Busy = "handing over to pg2" })).Reason);

    [Fact]
    public void LeaderWhosePostgresFailedReleasesAtOnce() =>
        Assert.Contains("releasing", Is<HaDecision.ReleaseLease>(Decide(View("pg1"), Stopped("pg1", LocalDataState.Primary, state: PostmasterState.Fenced) with { PostgresFailed = true })).Reason);

    [Fact]
    public void LeaderWithAnEmptyDataDirectoryReleases() =>
        Is<HaDecision.ReleaseLease>(Decide(View("pg1"), Empty("pg1")));

    [Fact]
    public void LeaseHolderThatIsAReplicaPromotes() =>
        Is<HaDecision.AcquireAndPromote>(Decide(View("pg2"), Replica("pg2", 100)));

    [Fact]
    public void LeaseHolderWhoseReplicaIsStoppedStartsItFirst() =>
        Assert.Null(Is<HaDecision.StartReplica>(Decide(View("pg2"), Stopped("pg2", LocalDataState.Standby))).Upstream);

    [Fact]
    public void LeaderHandsOverForAnActiveSwitchover()
    {
        var d = Decide(View("pg1", Member("pg2", NodeRole.Replica, 100)).With(Switchover("pg1", "pg2")), Primary("pg1", 100, Safe));
        Assert.Equal("pg2", Is<HaDecision.HandOver>(d).Target);
    }

    [Fact]
    public void AnExpiredSwitchoverRequestIsIgnored()
    {
        var expired = Switchover("pg1", "pg2") with { Deadline = Now.AddSeconds(-1) };
        Is<HaDecision.Lead>(Decide(View("pg1").With(expired), Primary("pg1", 100, Safe)));
    }

    [Fact]
    public void ASwitchoverToTheLeaderItselfIsNotAHandOver() =>
        Is<HaDecision.Lead>(Decide(View("pg1").With(Switchover("pg1", "pg1")), Primary("pg1", 100, Safe)));

    // --- Another node leads -------------------------------------------------------------------

    [Fact]
    public void AWritablePrimaryThatIsNotTheLeaderStopsAtOnce()
    {
        var d = Is<HaDecision.Demote>(Decide(View("pg2", Member("pg2", NodeRole.Primary, 200, timeline: 2)), Primary("pg1", 100)));
        Assert.False(d.RestartReadOnly);
    }

    [Fact]
    public void AStoppedFormerPrimaryRejoinsWithRewindOnceTheLeaderCheckpointedItsTimeline()
    {
        var ready = View("pg2", Member("pg2", NodeRole.Primary, 200, timeline: 2));
        Assert.Equal("pg2", Is<HaDecision.Rejoin>(Decide(ready, Stopped("pg1", LocalDataState.Primary))).Leader);
    }

    [Fact]
    public void AFormerPrimaryWaitsUntilTheNewLeaderFinishedPromoting()
    {
        // pg_rewind against a source still in recovery, or before its first checkpoint, sees no divergence.
        var stopped = Stopped("pg1", LocalDataState.Primary);
        Is<HaDecision.Wait>(Decide(View("pg2", Member("pg2", NodeRole.Replica, 200)), stopped));
        Is<HaDecision.Wait>(Decide(View("pg2", Promoting("pg2", 200, timeline: 2)), stopped));
    }

    [Fact]
    public void ACleanlyStoppedFormerPrimaryWhoseWalIsInTheLeadersHistoryStartsAsItsReplica()
    {
        var view = View("pg2", Promoting("pg2", 200, timeline: 2));
        var clean = Stopped("pg1", LocalDataState.Primary, cleanEnd: 150) with { DivergedFromLeader = false };
        Assert.Equal("pg2", Is<HaDecision.StartReplica>(Decide(view, clean)).Upstream);
        // Unknown yet: wait for the answer (the agent says true when the history cannot be read).
        Assert.Contains("timeline history", Is<HaDecision.Wait>(Decide(view, clean with { DivergedFromLeader = null })).Reason);
        Is<HaDecision.Wait>(Decide(view, clean with { DivergedFromLeader = true }));
        var checkpointed = View("pg2", Member("pg2", NodeRole.Primary, 200, timeline: 2));
        Is<HaDecision.Rejoin>(Decide(checkpointed, clean with { DivergedFromLeader = true }));
    }

    [Fact]
    public void AReplicaFollowsTheLeader() =>
        Assert.Equal("pg1", Is<HaDecision.Follow>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)), Replica("pg2", 100))).Leader);

    [Fact]
    public void AReplicaIsRepointedOnlyOnceTheNewLeaderRunsAsPrimaryWithItsSlots()
    {
        var promoting = View("pg2", Member("pg2", NodeRole.Replica, 200));
        Is<HaDecision.Wait>(Decide(promoting, Replica("pg3", 200)));
        var noSlots = View("pg2", Member("pg2", NodeRole.Primary, 200, timeline: 2, slotsReady: false));
        Is<HaDecision.Wait>(Decide(noSlots, Replica("pg3", 200)));
        var ready = View("pg2", Member("pg2", NodeRole.Primary, 200, timeline: 2));
        Assert.Contains("repointing", Is<HaDecision.Follow>(Decide(ready, Replica("pg3", 200))).Reason);
    }

    [Fact]
    public void ADivergedReplicaIsRewoundOnceTheLeaderCheckpointed()
    {
        var diverged = Replica("pg3", 300) with { DivergedFromLeader = true };
        Assert.Equal("pg2", Is<HaDecision.Rejoin>(Decide(View("pg2", Member("pg2", NodeRole.Primary, 200, timeline: 2)), diverged)).Leader);
        Is<HaDecision.Wait>(Decide(View("pg2", Promoting("pg2", 200, timeline: 2)), diverged));
    }

    [Fact]
    public void AReinitRequestRecloneTheReplica() =>
        Is<HaDecision.Reclone>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)), Replica("pg2", 100) with { ReinitRequested = true }));

    [Fact]
    public void AReplicaBelowTheHotStandbySettingsItNeedsIsRestarted() =>
        Assert.Contains("max_connections", Is<HaDecision.RestartReplica>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)),
            Replica("pg2", 100) with { HotStandbyShortfall = "max_connections 50 < 100" })).Reason);

    [Fact]
    public void AStoppedReplicaStartsFollowingTheLeader() =>
        Assert.Equal("pg1", Is<HaDecision.StartReplica>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)), Stopped("pg2", LocalDataState.Standby))).Upstream);

    [Fact]
    public void AReplicaThatKeepsFailingToStartIsRecloned() =>
        Is<HaDecision.Reclone>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)), Stopped("pg2", LocalDataState.Standby) with { StartFailures = 5 }));

    [Fact]
    public void NothingNewStartsWhileALongActionRuns() =>
        Assert.Contains("cloning", Is<HaDecision.Wait>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)), Empty("pg2") with { Busy = "cloning pg1" })).Reason);

    [Fact]
    public void AHungPostgresIsLeftToItsSupervisor() =>
        Is<HaDecision.Wait>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)), Stopped("pg2", LocalDataState.Standby, state: PostmasterState.NotAnswering)));

    // --- An empty data directory --------------------------------------------------------------

    [Fact]
    public void AnEmptyNodeClonesARunningLeader() =>
        Assert.Equal("pg1", Is<HaDecision.CloneLeader>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)), Empty("pg2"))).Leader);

    [Fact]
    public void TheBootstrapNodeInitialisesANewCluster()
    {
        var fresh = View(null) with { Initialize = null };
        Is<HaDecision.Initialize>(Decide(fresh, Empty("pg1") with { MayInitialize = true }));
        Is<HaDecision.Wait>(Decide(fresh, Empty("pg2")));
        Is<HaDecision.Wait>(Decide(View(null), Empty("pg2") with { MayInitialize = true }));
    }

    // --- The DCS is unreachable ---------------------------------------------------------------

    [Fact]
    public void DcsDownPrimaryStaysWritableOnlyWhileTheLeaseIsSafe()
    {
        Is<HaDecision.Wait>(Decide(null, Primary("pg1", 100, TimeSpan.FromSeconds(8))));
        var d = Is<HaDecision.Demote>(Decide(null, Primary("pg1", 100, TimeSpan.FromSeconds(3))));
        Assert.Contains("before it can", d.Reason);
        Assert.True(d.RestartReadOnly);
        Is<HaDecision.Demote>(Decide(null, Primary("pg1", 100)));
    }

    [Fact]
    public void DcsDownReplicaKeepsServingReads() =>
        Assert.Contains("serving reads", Is<HaDecision.Wait>(Decide(null, Replica("pg2", 100))).Reason);

    [Fact]
    public void DcsDownStoppedReplicaStartsReadOnly() =>
        Is<HaDecision.StartReplica>(Decide(null, Stopped("pg2", LocalDataState.Standby)));

    // --- No leader ----------------------------------------------------------------------------

    [Fact]
    public void MostUpToDateReplicaTakesOver()
    {
        var view = View(null, Member("pg2", NodeRole.Replica, 1000), Member("pg3", NodeRole.Replica, 900));
        Is<HaDecision.AcquireAndPromote>(Decide(view, Replica("pg2", 1000)));
        Assert.Contains("pg2", Is<HaDecision.Wait>(Decide(view, Replica("pg3", 900))).Reason);
    }

    [Fact]
    public void TiesGoToPriorityThenName()
    {
        var view = View(null, Member("pg2", NodeRole.Replica, 500), Member("pg3", NodeRole.Replica, 500));
        Is<HaDecision.AcquireAndPromote>(Decide(view, Replica("pg2", 500)));
        Is<HaDecision.Wait>(Decide(view, Replica("pg3", 500)));
        var prioritised = View(null, Member("pg2", NodeRole.Replica, 500), Member("pg3", NodeRole.Replica, 500, priority: 200));
        Is<HaDecision.Wait>(Decide(prioritised, Replica("pg2", 500)));
        Is<HaDecision.AcquireAndPromote>(Decide(prioritised, Replica("pg3", 500) with { Priority = 200 }));
    }

    [Fact]
    public void ReplicaTooFarBehindNeverTakesOver()
    {
        var view = View(null, Member("pg1", NodeRole.Primary, 10 * MiB, running: false), Member("pg3", NodeRole.Replica, 2 * MiB));
        Assert.Contains("maximum_lag_on_failover", Is<HaDecision.Wait>(Decide(view, Replica("pg3", 2 * MiB))).Reason);
        Is<HaDecision.AcquireAndPromote>(Decide(view.With(new DcsConfig { MaximumLagOnFailover = 16 * MiB }), Replica("pg3", 2 * MiB)));
    }

    [Fact]
    public void TheLeadersRecordedPositionCountsAfterItsMemberKeyIsGone()
    {
        var view = View(null, Member("pg3", NodeRole.Replica, 2 * MiB)) with { Optime = new LeaderOptime(1, 10 * MiB) };
        Assert.Contains("maximum_lag_on_failover", Is<HaDecision.Wait>(Decide(view, Replica("pg3", 2 * MiB))).Reason);
    }

    [Fact]
    public void NoFailoverTagIsNeverCandidate()
    {
        var view = View(null, Member("pg2", NodeRole.Replica, 100, noFailover: true));
        Assert.Contains("nofailover", Is<HaDecision.Wait>(Decide(view, Replica("pg2", 100) with { NoFailover = true })).Reason);
        var withOther = View(null, Member("pg2", NodeRole.Replica, 100, noFailover: true), Member("pg3", NodeRole.Replica, 90));
        Is<HaDecision.AcquireAndPromote>(Decide(withOther, Replica("pg3", 90)));
    }

    [Fact]
    public void SynchronousModeTheReplicaWithTheMostWalTakesOverOnlyIfEveryReplicaIsVisible()
    {
        var sync = new DcsConfig { SynchronousMode = true };
        var both = View(null, Member("pg2", NodeRole.Replica, 200), Member("pg3", NodeRole.Replica, 150)).With(sync);
        Is<HaDecision.AcquireAndPromote>(Decide(both, Replica("pg2", 200)));
        Is<HaDecision.Wait>(Decide(both, Replica("pg3", 150)));
        // pg3 is not visible: it might hold commits acknowledged by it alone.
        var oneMissing = View(null, Member("pg2", NodeRole.Replica, 200)).With(sync);
        Assert.Contains("pg3", Is<HaDecision.Wait>(Decide(oneMissing, Replica("pg2", 200))).Reason);
        // Lag limits do not apply: with synchronous commits the most advanced replica has every acknowledged one.
        var farBehindOldLeader = View(null, Member("pg1", NodeRole.Primary, 50 * MiB, running: false), Member("pg2", NodeRole.Replica, 10 * MiB), Member("pg3", NodeRole.Replica, 9 * MiB)).With(sync);
        Is<HaDecision.AcquireAndPromote>(Decide(farBehindOldLeader, Replica("pg2", 10 * MiB)));
    }

    [Fact]
    public void SynchronousModeANewlyInitialisedNodeLeadsWhileTheOthersAreStillEmpty()
    {
        // At bootstrap the other nodes wait for a leader to clone from: they hold no commit, and
        // waiting for their positions would leave the cluster without a primary for ever.
        var sync = new DcsConfig { SynchronousMode = true };
        var empty = Member("pg2", NodeRole.Stopped, 0, running: false) with { WalPosition = null, HasNoData = true };
        var view = View(null, empty, empty with { Name = "pg3" }).With(sync) with { Initialize = "pg1" };
        Assert.Null(Eligibility.WhyNot(view, new LeadershipCandidate("pg1", 1, 1000, 100, false), ["pg1", "pg2", "pg3"]));
        // Without a member key, pg3 might be a crashed sync standby holding the last commits.
        var gone = View(null, empty).With(sync) with { Initialize = "pg1" };
        Assert.Contains("pg3", Eligibility.WhyNot(gone, new LeadershipCandidate("pg1", 1, 1000, 100, false), ["pg1", "pg2", "pg3"]));
    }

    [Fact]
    public void SynchronousModeARewoundNodeNotYetConsistentCountsAsHoldingAtMostItsRewindBound()
    {
        // Nemesis seed 599237024: pg1 was rewound from pg3 (timeline 2) and then lost its agent; started
        // read-only without an upstream it never reaches consistency, so it publishes no position, and
        // every other node waited for it for good. It holds nothing beyond its source's WAL at the rewind.
        var sync = new DcsConfig { SynchronousMode = true };
        string[] nodes = ["pg1", "pg2", "pg3"];
        var rewound = Member("pg1", NodeRole.Stopped, 0, running: false) with { WalPosition = null, HoldsAtMost = new RewindBound(2, 5000) };
        var view = View(null, rewound, Member("pg2", NodeRole.Replica, 4000, timeline: 2)).With(sync).WithHistory(2, "pg3");
        Assert.Null(Eligibility.WhyNot(view, new LeadershipCandidate("pg3", 2, 6000, 100, false), nodes));
        Assert.Null(Eligibility.WhyNot(view, new LeadershipCandidate("pg3", 2, 5000, 100, false), nodes));
        // A candidate short of the bound, or on another timeline, might lack commits only pg1 holds.
        Assert.Contains("pg1", Eligibility.WhyNot(view, new LeadershipCandidate("pg2", 2, 4000, 100, false), ["pg1", "pg2"]));
        Assert.Contains("pg1", Eligibility.WhyNot(view.WithHistory(3, "pg3"), new LeadershipCandidate("pg3", 3, 9000, 100, false), nodes));
        // Without the bound it is unknown, as before.
        Assert.Contains("pg1", Eligibility.WhyNot(View(null, rewound with { HoldsAtMost = null }).With(sync).WithHistory(2, "pg3"),
            new LeadershipCandidate("pg3", 2, 6000, 100, false), nodes));
    }

    [Fact]
    public void ARewindThatFoundNothingToDoRecordsNoBound()
    {
        // Hostile review 16, finding 4: "no rewind required" leaves the control file as it was; on a standby
        // whose replay lagged its received WAL, that minimum recovery point understates its pg_wal.
        var control = new ControlData("1", DatabaseClusterState.ShutDownInRecovery, 0x3000000, 1, 0x2800000, 1, new HotStandbySettings(100, 8, 10, 0, 64));
        Assert.Null(RewindBound.AfterRewind("pg_rewind: source and target cluster are on the same timeline\npg_rewind: no rewind required\n", control));
        Assert.Equal(new RewindBound(1, 0x2800000), RewindBound.AfterRewind("pg_rewind: Done!\n", control));
        Assert.Null(RewindBound.AfterRewind("pg_rewind: Done!\n", control with { MinRecoveryEndLsn = 0 }));
    }

    [Theory]
    [InlineData("2 0/5000\n", 2L, 0x5000L)]
    [InlineData("12 1A/FF000000", 12L, 0x1AFF000000L)]
    [InlineData("garbage", 0L, 0L)]
    [InlineData("0 0/5000", 0L, 0L)]
    [InlineData("2 0/0", 0L, 0L)]
    [InlineData("2 zz/1", 0L, 0L)]
    public void ARewindBoundRoundTripsAndADamagedFileIsNoBound(string text, long timeline, long position)
    {
        var bound = RewindBound.Parse(text);
        Assert.Equal(timeline == 0 ? null : new RewindBound(timeline, position), bound);
        if (bound is not null)
        {
            Assert.Equal(bound, RewindBound.Parse(bound.Format()));
        }
    }

    [Fact]
    public void PausedClusterDoesNotFailOverAutomatically() =>
        Assert.Contains("paused", Is<HaDecision.Wait>(Decide(View(null).With(new DcsConfig { Paused = true }), Replica("pg2", 100))).Reason);

    [Fact]
    public void PausedClusterStillCarriesOutAManualFailoverOrSwitchover()
    {
        var paused = View(null, Member("pg2", NodeRole.Replica, 100), Member("pg3", NodeRole.Replica, 100)).With(new DcsConfig { Paused = true });
        Is<HaDecision.AcquireAndPromote>(Decide(paused.With(Failover("pg3")), Replica("pg3", 100)));
        Is<HaDecision.AcquireAndPromote>(Decide(paused.With(Switchover("pg1", "pg3")), Replica("pg3", 100)));
        Assert.Contains("pg3", Is<HaDecision.Wait>(Decide(paused.With(Failover("pg3")), Replica("pg2", 100))).Reason);
    }

    [Fact]
    public void ARequestedTargetIsWaitedForUntilTheRequestExpires()
    {
        var view = View(null, Member("pg2", NodeRole.Replica, 100), Member("pg3", NodeRole.Replica, 90));
        Assert.Contains("pg3", Is<HaDecision.Wait>(Decide(view.With(Failover("pg3")), Replica("pg2", 100))).Reason);
        Is<HaDecision.AcquireAndPromote>(Decide(view.With(Failover("pg3")), Replica("pg3", 90)));
        // Past its deadline the best node takes over: a request that cannot complete never leaves the cluster without a primary.
        var expired = Failover("pg3") with { Deadline = Now.AddSeconds(-1) };
        Is<HaDecision.AcquireAndPromote>(Decide(view.With(expired), Replica("pg2", 100)));
    }

    [Fact]
    public void ARequestedTargetThatMayNotLeadSaysWhy()
    {
        var view = View(null, Member("pg3", NodeRole.Replica, 90, noFailover: true)).With(Failover("pg3"));
        Assert.Contains("nofailover", Is<HaDecision.Wait>(Decide(view, Replica("pg3", 90) with { NoFailover = true })).Reason);
    }

    [Fact]
    public void RunningPrimaryRetakesAMissingLease() =>
        Is<HaDecision.AcquireAndLead>(Decide(View(null, Member("pg2", NodeRole.Replica, 90)), Primary("pg1", 100)));

    [Fact]
    public void ARunningPrimaryWhoseKeyVanishedBeforeItsLeaseCouldExpireStopsWritesInsteadOfRetakingIt()
    {
        // netns quorum-loss finding: the key was deleted (a late release), and the replicas see no leader either.
        var local = Primary("pg1", 100) with { LeaseLeftWhenKeyVanished = TimeSpan.FromSeconds(3) };
        var d = Is<HaDecision.Demote>(Decide(View(null, Member("pg2", NodeRole.Replica, 90)), local));
        Assert.True(d.RestartReadOnly);
        Assert.Contains("vanished", d.Reason);
    }

    [Fact]
    public void ARunningPrimaryOnAnOlderTimelineThanAnotherNodeDemotes()
    {
        var view = View(null, Member("pg2", NodeRole.Primary, 100, timeline: 2));
        Assert.True(Is<HaDecision.Demote>(Decide(view, Primary("pg1", 100))).RestartReadOnly);
    }

    // --- Fault 2: a stale node never wins the leader race --------------------------------------

    [Fact]
    public void AReplicaOnAnOlderTimelineThanTheHistoryNeverTakesOver()
    {
        // A crashed, B promoted to timeline 2 and acknowledged writes, B and C crashed: A is alone.
        var view = View(null).WithHistory(2, "pgB");
        var d = Is<HaDecision.Wait>(Decide(view, Replica("pg1", 10 * MiB, timeline: 1)));
        Assert.Contains("timeline 1 is older than timeline 2", d.Reason);
    }

    [Fact]
    public void ACleanlyStoppedOldPrimaryOnAnOlderTimelineDoesNotStartWritable()
    {
        var view = View(null) with { Optime = new LeaderOptime(2, 5 * MiB) };
        Is<HaDecision.StartReplica>(Decide(view, Stopped("pg1", LocalDataState.Primary, timeline: 1, cleanEnd: 9 * MiB)));
    }

    [Fact]
    public void AMemberOnANewerTimelineBlocksEveryOlderCandidate()
    {
        var view = View(null, Member("pg2", NodeRole.Stopped, 100, running: false, timeline: 3));
        Assert.Contains("member pg2", Is<HaDecision.Wait>(Decide(view, Replica("pg3", 500, timeline: 2))).Reason);
        Is<HaDecision.Demote>(Decide(view, Primary("pg1", 500, timeline: 2)));
    }

    [Fact]
    public void ACleanlyStoppedPrimaryThatIsMostAdvancedStartsWritableWithoutPromotion()
    {
        var view = View(null, Member("pg2", NodeRole.Replica, 1000 + 120)) with { Optime = new LeaderOptime(1, 990) };
        Is<HaDecision.AcquireAndStartPrimary>(Decide(view, Stopped("pg1", LocalDataState.Primary, cleanEnd: 1000 + 8192)));
    }

    [Fact]
    public void AnUncleanlyStoppedPrimaryFirstStartsReadOnlyToFindItsPosition() =>
        Assert.Null(Is<HaDecision.StartReplica>(Decide(View(null), Stopped("pg1", LocalDataState.Primary, state: PostmasterState.Crashed))).Upstream);

    [Fact]
    public void WhilePausedOnlyTheFormerLeaderRestartsAsPrimary()
    {
        var paused = View(null).With(new DcsConfig { Paused = true }).WithHistory(2, "pg1");
        Is<HaDecision.AcquireAndStartPrimary>(Decide(paused, Stopped("pg1", LocalDataState.Primary, timeline: 2, cleanEnd: 100)));
        Is<HaDecision.StartReplica>(Decide(paused, Stopped("pg2", LocalDataState.Primary, timeline: 2, cleanEnd: 100)));
    }

    [Fact]
    public void AFailedNodeIsNotRestartedWhileAnotherNodeMayTakeOver() =>
        Is<HaDecision.Wait>(Decide(View(null, Member("pg2", NodeRole.Replica, 100), Member("pg3", NodeRole.Replica, 100)),
            Stopped("pg1", LocalDataState.Primary, state: PostmasterState.Fenced) with { PostgresFailed = true }));

    [Fact]
    public void AFailedNodeOnTheOnlyNewestTimelineComesBackReadOnlyWhenNoOtherNodeMayLead()
    {
        // CI, etcd restarted: pg3 won the lease, promoted to timeline 2 and was fenced; pg1 and pg2
        // (timeline 1) may never lead, and a fenced pg3 that waited left the cluster without a primary.
        var view = View(null, Member("pg1", NodeRole.Replica, 100), Member("pg2", NodeRole.Replica, 100)).WithHistory(2, "pg3");
        var failed = Stopped("pg3", LocalDataState.Primary, timeline: 2, state: PostmasterState.Fenced) with { PostgresFailed = true };
        Assert.Null(Eligibility.Best(view, null, ["pg1", "pg2"]));
        Assert.Null(Is<HaDecision.StartReplica>(Decide(view, failed)).Upstream);
        // Back as a read-only replica on timeline 2, it is the one node that may lead.
        Is<HaDecision.AcquireAndPromote>(Decide(view, Replica("pg3", 100, timeline: 2, upstream: null)));
    }
}
