using System.Collections.Immutable;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

public class HaDeciderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private const long MiB = 1024 * 1024;

    private static MemberInfo Member(string name, NodeRole role, long wal, bool running = true, int priority = 100, bool noFailover = false, long timeline = 1) =>
        new(name, role, "running", running, timeline, wal, wal, $"http://{name}:8008", name, 5432, priority, noFailover, Now);

    private static ClusterView View(string? leader, DcsConfig? config = null, string? sync = null, FailoverRequest? failover = null, params MemberInfo[] members) =>
        new(leader is null ? null : new LeaderInfo(leader, 42), members.ToImmutableDictionary(m => m.Name), config ?? new DcsConfig(), "pg1", failover, [], sync);

    private static LocalState Replica(string name, long wal, bool noFailover = false, int priority = 100) =>
        new(name, true, NodeRole.Replica, 1, wal, null, false, noFailover, priority);

    private static LocalState Primary(string name, long wal, DateTimeOffset? leaseExpires = null, bool failed = false) =>
        new(name, true, NodeRole.Primary, 1, wal, leaseExpires, failed, false, 100);

    private static T Is<T>(HaDecision d) where T : HaDecision
    {
        var t = Assert.IsType<T>(d);
        Assert.False(string.IsNullOrWhiteSpace(t.Reason));
        return t;
    }

    [Fact]
    public void LeaderRenewsItsLease() =>
        Is<HaDecision.Lead>(HaDecider.Decide(View("pg1"), Primary("pg1", 100, Now.AddSeconds(9)), Now, Ttl));

    [Fact]
    public void LeaderKeepsRenewingWhileItsPostgresRestarts() =>
        Is<HaDecision.Lead>(HaDecider.Decide(View("pg1"), new LocalState("pg1", false, NodeRole.Unknown, 1, null, Now.AddSeconds(9), false, false, 100), Now, Ttl));

    [Fact]
    public void LeaderWhosePostgresFailedReleasesAtOnce() =>
        Assert.Contains("releasing", Is<HaDecision.ReleaseLease>(HaDecider.Decide(View("pg1"), Primary("pg1", 100, Now.AddSeconds(9), failed: true), Now, Ttl)).Reason);

    [Fact]
    public void LeaseHolderThatIsAReplicaPromotes() =>
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(View("pg2"), Replica("pg2", 100), Now, Ttl));

    [Fact]
    public void LeaderStepsDownForARequestedSwitchover()
    {
        var d = HaDecider.Decide(View("pg1", failover: new FailoverRequest("switchover", "pg1", "pg2", Now)), Primary("pg1", 100, Now.AddSeconds(9)), Now, Ttl);
        Assert.Contains("pg2", Is<HaDecision.ReleaseLease>(d).Reason);
    }

    [Fact]
    public void ReplicaFollowsTheLeader() =>
        Assert.Equal("pg1", Is<HaDecision.Follow>(HaDecider.Decide(View("pg1"), Replica("pg2", 100), Now, Ttl)).Leader);

    [Fact]
    public void APrimaryThatIsNotTheLeaderRejoins()
    {
        var leaderReady = View("pg2", null, null, null, Member("pg2", NodeRole.Primary, 200, timeline: 2));
        Assert.Equal("pg2", Is<HaDecision.Rejoin>(HaDecider.Decide(leaderReady, Primary("pg1", 100), Now, Ttl)).Leader);
        var stopped = new LocalState("pg1", false, NodeRole.Primary, 1, null, null, false, false, 100);
        Assert.Equal("pg2", Is<HaDecision.Rejoin>(HaDecider.Decide(leaderReady, stopped, Now, Ttl)).Leader);
    }

    [Fact]
    public void AFormerPrimaryWaitsUntilTheNewLeaderFinishedPromoting()
    {
        // pg_rewind against a source still in recovery would find no divergence yet.
        var promoting = View("pg2", null, null, null, Member("pg2", NodeRole.Replica, 200));
        var stopped = new LocalState("pg1", false, NodeRole.Primary, 1, null, null, false, false, 100);
        Is<HaDecision.Wait>(HaDecider.Decide(promoting, stopped, Now, Ttl));
        Is<HaDecision.Demote>(HaDecider.Decide(promoting, Primary("pg1", 100), Now, Ttl));
        // Promoted, but no checkpoint yet: its control file still shows the old timeline.
        var noCheckpoint = View("pg2", null, null, null, Member("pg2", NodeRole.Primary, 200, timeline: 1));
        Is<HaDecision.Wait>(HaDecider.Decide(noCheckpoint, stopped, Now, Ttl));
    }

    [Fact]
    public void DcsDownPrimaryStaysWritableOnlyWhileTheLeaseIsSafe()
    {
        Is<HaDecision.Wait>(HaDecider.Decide(null, Primary("pg1", 100, Now.AddSeconds(8)), Now, Ttl));
        var d = HaDecider.Decide(null, Primary("pg1", 100, Now.AddSeconds(3)), Now, Ttl);
        Assert.Contains("before it can", Is<HaDecision.Demote>(d).Reason);
        Is<HaDecision.Demote>(HaDecider.Decide(null, Primary("pg1", 100, Now.AddSeconds(-1)), Now, Ttl));
        Is<HaDecision.Demote>(HaDecider.Decide(null, Primary("pg1", 100, null), Now, Ttl));
    }

    [Fact]
    public void DcsDownReplicaKeepsServingReads() =>
        Assert.Contains("serving reads", Is<HaDecision.Wait>(HaDecider.Decide(null, Replica("pg2", 100), Now, Ttl)).Reason);

    [Fact]
    public void MostUpToDateReplicaTakesOver()
    {
        var view = View(null, null, null, null, Member("pg1", NodeRole.Primary, 1000, running: false), Member("pg2", NodeRole.Replica, 1000), Member("pg3", NodeRole.Replica, 900));
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(view, Replica("pg2", 1000), Now, Ttl));
        Assert.Contains("pg2", Is<HaDecision.Wait>(HaDecider.Decide(view, Replica("pg3", 900), Now, Ttl)).Reason);
    }

    [Fact]
    public void TiesGoToPriorityThenName()
    {
        var view = View(null, null, null, null, Member("pg2", NodeRole.Replica, 500), Member("pg3", NodeRole.Replica, 500));
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(view, Replica("pg2", 500), Now, Ttl));
        Is<HaDecision.Wait>(HaDecider.Decide(view, Replica("pg3", 500), Now, Ttl));
        var prioritised = View(null, null, null, null, Member("pg2", NodeRole.Replica, 500), Member("pg3", NodeRole.Replica, 500, priority: 200));
        Is<HaDecision.Wait>(HaDecider.Decide(prioritised, Replica("pg2", 500), Now, Ttl));
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(prioritised, Replica("pg3", 500, priority: 200), Now, Ttl));
    }

    [Fact]
    public void ReplicaTooFarBehindNeverTakesOver()
    {
        var view = View(null, null, null, null, Member("pg1", NodeRole.Primary, 10 * MiB, running: false), Member("pg3", NodeRole.Replica, 2 * MiB));
        var d = HaDecider.Decide(view, Replica("pg3", 2 * MiB), Now, Ttl);
        Assert.Contains("maximum_lag_on_failover", Is<HaDecision.Wait>(d).Reason);
        var lenient = view with { Config = new DcsConfig { MaximumLagOnFailover = 16 * MiB } };
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(lenient, Replica("pg3", 2 * MiB), Now, Ttl));
    }

    [Fact]
    public void TheLeadersRecordedPositionCountsAfterItsMemberKeyIsGone()
    {
        // The crashed leader's member key expired; its last recorded position did not.
        var view = View(null, null, null, null, Member("pg3", NodeRole.Replica, 2 * MiB)) with { LastLeaderPosition = 10 * MiB };
        Assert.Contains("maximum_lag_on_failover", Is<HaDecision.Wait>(HaDecider.Decide(view, Replica("pg3", 2 * MiB), Now, Ttl)).Reason);
    }

    [Fact]
    public void LaggingReplicaIsNotChosenOverACurrentOne()
    {
        var view = View(null, null, null, null, Member("pg2", NodeRole.Replica, 5 * MiB), Member("pg3", NodeRole.Replica, 5 * MiB - 4096));
        Is<HaDecision.Wait>(HaDecider.Decide(view, Replica("pg3", 5 * MiB - 4096), Now, Ttl));
    }

    [Fact]
    public void NoFailoverTagIsNeverCandidate()
    {
        var view = View(null, null, null, null, Member("pg2", NodeRole.Replica, 100, noFailover: true));
        Assert.Contains("nofailover", Is<HaDecision.Wait>(HaDecider.Decide(view, Replica("pg2", 100, noFailover: true), Now, Ttl)).Reason);
        var withOther = View(null, null, null, null, Member("pg2", NodeRole.Replica, 100, noFailover: true), Member("pg3", NodeRole.Replica, 90));
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(withOther, Replica("pg3", 90), Now, Ttl));
    }

    [Fact]
    public void SynchronousModeTheReplicaWithTheMostWalTakesOverOnlyIfEveryReplicaIsVisible()
    {
        var config = new DcsConfig { SynchronousMode = true };
        var both = View(null, config, null, null, Member("pg2", NodeRole.Replica, 200), Member("pg3", NodeRole.Replica, 150));
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(both, Replica("pg2", 200) with { Peers = ["pg1", "pg3"] }, Now, Ttl));
        Is<HaDecision.Wait>(HaDecider.Decide(both, Replica("pg3", 150) with { Peers = ["pg1", "pg2"] }, Now, Ttl));
        // pg3 is not visible: it might hold commits acknowledged by it alone.
        var oneMissing = View(null, config, null, null, Member("pg2", NodeRole.Replica, 200));
        var d = HaDecider.Decide(oneMissing, Replica("pg2", 200) with { Peers = ["pg1", "pg3"] }, Now, Ttl);
        Assert.Contains("pg3", Is<HaDecision.Wait>(d).Reason);
        // Lag limits do not apply: with synchronous commits the most advanced replica has every acknowledged one.
        var farBehindOldLeader = View(null, config, null, null, Member("pg1", NodeRole.Primary, 50 * MiB, running: false), Member("pg2", NodeRole.Replica, 10 * MiB), Member("pg3", NodeRole.Replica, 9 * MiB));
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(farBehindOldLeader, Replica("pg2", 10 * MiB) with { Peers = ["pg1", "pg3"] }, Now, Ttl));
    }

    [Fact]
    public void PausedClusterDoesNotFailOver() =>
        Assert.Contains("paused", Is<HaDecision.Wait>(HaDecider.Decide(View(null, new DcsConfig { Paused = true }), Replica("pg2", 100), Now, Ttl)).Reason);

    [Fact]
    public void RunningPrimaryRetakesAMissingLease() =>
        Is<HaDecision.AcquireAndLead>(HaDecider.Decide(View(null, null, null, null, Member("pg2", NodeRole.Replica, 90)), Primary("pg1", 100), Now, Ttl));

    [Fact]
    public void TwoPrimariesWithoutALeaseTheStaleOneDemotes()
    {
        var view = View(null, null, null, null, Member("pg2", NodeRole.Primary, 100, timeline: 2));
        Is<HaDecision.Demote>(HaDecider.Decide(view, Primary("pg1", 100), Now, Ttl));
    }

    [Fact]
    public void RequestedFailoverTargetIsWaitedFor()
    {
        var view = View(null, null, null, new FailoverRequest("failover", null, "pg3", Now), Member("pg2", NodeRole.Replica, 100), Member("pg3", NodeRole.Replica, 90));
        Assert.Contains("pg3", Is<HaDecision.Wait>(HaDecider.Decide(view, Replica("pg2", 100), Now, Ttl)).Reason);
        Is<HaDecision.AcquireAndPromote>(HaDecider.Decide(view, Replica("pg3", 90), Now, Ttl));
    }

    [Fact]
    public void StoppedReplicaIsNotACandidate() =>
        Is<HaDecision.Wait>(HaDecider.Decide(View(null), new LocalState("pg2", false, NodeRole.Unknown, 1, 100, null, false, false, 100), Now, Ttl));

    [Theory]
    [InlineData("0/3000060", 0x3000060L)]
    [InlineData("16/B374D848", 0x16B374D848L)]
    [InlineData("0/0", 0L)]
    public void LsnRoundTrips(string text, long bytes)
    {
        Assert.Equal(bytes, Lsn.Parse(text));
        Assert.Equal(text, Lsn.Format(bytes));
    }

    [Fact]
    public void LsnRejectsGarbage() => Assert.Throws<FormatException>(() => Lsn.Parse("nope"));
}
