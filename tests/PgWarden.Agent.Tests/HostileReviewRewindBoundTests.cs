using PgWarden.Agent.Ha;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Hostile review 16: the rewind bound a rewound, not yet consistent node publishes.</summary>
public sealed class HostileReviewRewindBoundTests
{
    /// <summary>
    /// Finding 1 (safety, synchronous mode): pg1 was rewound and its agent restarted before it started
    /// (the bound is in its home directory). With pg3 leading, it starts as pg3's replica: the start forgets
    /// the bound file (streaming, it may acknowledge commits beyond it before it is consistent) — but the
    /// agent kept the bound in memory and went on publishing it for the whole start (up to 5 minutes, the
    /// loop reads the file only when idle). pg2, which covers the stale bound but lacks what pg1 acknowledged,
    /// was then eligible once pg3 failed.
    /// </summary>
    [Fact]
    public async Task ARewoundNodeThatStartsStreamingStopsPublishingItsBoundAtOnce()
    {
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg3", config: new DcsConfig { SynchronousMode = true });
        h.Dcs.ForceLeader("pg3", TimeSpan.FromMinutes(5));
        h.Member("pg3", NodeRole.Primary, 0x3200000, timeline: 2);
        h.Node.AsStandby(0x3000000, timeline: 2);
        h.Node.ControlState = DatabaseClusterState.InArchiveRecovery;
        var bound = new RewindBound(2, 0x3100000);
        h.Node.RecordedRewindBound = bound;
        h.Node.NeverConsistent = true;

        await h.CycleAsync(waitForAction: false);
        await AgentHarness.EventuallyAsync(() => h.Node.Actions.Contains("start replica of pg3"), "the start as pg3's replica");
        Assert.Null(h.Node.RecordedRewindBound);
        await h.CycleAsync(waitForAction: false);
        await h.CycleAsync(waitForAction: false);

        Assert.Null(h.Dcs.Member("pg1")?.HoldsAtMost);
        h.Member("pg2", NodeRole.Replica, 0x3100000, timeline: 2);
        var view = await h.Dcs.ReadAsync(CancellationToken.None);
        Assert.Contains("pg1", Eligibility.WhyNot(view, new LeadershipCandidate("pg2", 2, 0x3100000, 100, false), ["pg1", "pg2", "pg3"]) ?? "eligible");
        h.Node.NeverConsistent = false;
        await h.Agent.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Finding 2 (safety, synchronous mode): a backend of a replica crashes (OOM killer, a segfault) and,
    /// with restart_after_crash on (PostgreSQL's default, PgWarden leaves it), the postmaster — same PID —
    /// reinitialises shared memory and runs a new startup process: crash recovery from the last restartpoint
    /// through the WAL in its own pg_wal, with pg_last_wal_receive_lsn() null again. Once consistent it
    /// answers while still replaying, and the agent, keyed on the postmaster's PID, published the climbing
    /// replay position at once — below WAL it had received and acknowledged.
    /// </summary>
    [Fact]
    public async Task AReplicaWhosePostmasterReinitialisedAfterABackendCrashPublishesNoPositionUntilItReplayedItsOwnWal()
    {
        var h = await AgentHarness.StreamingReplicaAsync();
        h.Dcs.Seed(initialize: "pg1", config: new DcsConfig { SynchronousMode = true });
        await h.CycleAsync();
        Assert.Equal(0x3000000, h.Dcs.Member("pg2")?.WalPosition);

        // The reinitialisation: same postmaster, a new startup process replaying from the restartpoint.
        h.Node.StartupPid++;
        h.Node.ReceivedNothing = true;
        h.Node.StartupWaitEvent = "";
        h.Node.Position = 0x2800000;
        await h.CycleAsync();
        Assert.Null(h.Dcs.Member("pg2")?.WalPosition);

        h.Node.Position = 0x3000000;
        h.Node.StartupWaitEvent = "RecoveryRetrieveRetryInterval";
        await h.CycleAsync();
        Assert.Equal(0x3000000, h.Dcs.Member("pg2")?.WalPosition);
    }
}
