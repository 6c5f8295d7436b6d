using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using static PgWarden.Core.Tests.HaTestData;

namespace PgWarden.Core.Tests;

/// <summary>The README's refusal rules for `switchover` and `failover`: each refusal, and the requests that pass.</summary>
public class SwitchoverRulesTests
{
    private static readonly string[] Nodes = ["pg1", "pg2", "pg3"];

    private static ClusterView Healthy(params MemberInfo[] extra) =>
        View("pg1", [Member("pg1", NodeRole.Primary, 1000), Member("pg2", NodeRole.Replica, 1000), Member("pg3", NodeRole.Replica, 990), .. extra]);

    private static string? Switchover(ClusterView view, string? to, string? expectedLeader = null) =>
        SwitchoverRules.Validate(FailoverKind.Switchover, view, Nodes, expectedLeader, to, Now);

    private static string? Failover(ClusterView view, string? to) => SwitchoverRules.Validate(FailoverKind.Failover, view, Nodes, null, to, Now);

    [Fact]
    public void ASwitchoverToAStreamingReplicaIsAccepted()
    {
        Assert.Null(Switchover(Healthy(), "pg2"));
        Assert.Null(Switchover(Healthy(), null));
        Assert.Equal("pg2", SwitchoverRules.BestCandidate(Healthy(), "pg1", Nodes));
    }

    [Fact]
    public void AnUnknownNodeIsRefused() => Assert.Contains("not a node", Switchover(Healthy(), "pg9"));

    [Fact]
    public void TheLeaderItselfIsRefused() => Assert.Contains("already the leader", Switchover(Healthy(), "pg1"));

    [Fact]
    public void AnUnexpectedLeaderIsRefused() => Assert.Contains("not pg2", Switchover(Healthy(), "pg3", expectedLeader: "pg2"));

    [Fact]
    public void ASwitchoverWithoutAHealthyLeaderIsRefused() =>
        Assert.Contains("use failover", Switchover(View(null, Member("pg2", NodeRole.Replica, 100)), "pg2"));

    [Fact]
    public void ATargetThatDoesNotStreamIsRefused()
    {
        var view = View("pg1", Member("pg1", NodeRole.Primary, 1000), Member("pg2", NodeRole.Replica, 1000) with { State = "starting" });
        Assert.Contains("not streaming", Switchover(view, "pg2"));
    }

    [Fact]
    public void AStoppedTargetIsRefused() =>
        Assert.Contains("not a running replica", Switchover(Healthy(Member("pg3", NodeRole.Stopped, 0, running: false)), "pg3"));

    [Fact]
    public void ALaggingTargetIsRefused()
    {
        var view = View("pg1", Member("pg1", NodeRole.Primary, 10 * MiB), Member("pg2", NodeRole.Replica, 1 * MiB));
        Assert.Contains("maximum_lag_on_failover", Switchover(view, "pg2"));
    }

    [Fact]
    public void ANoFailoverTargetIsRefused() =>
        Assert.Contains("nofailover", Switchover(Healthy(Member("pg2", NodeRole.Replica, 1000, noFailover: true)), "pg2"));

    [Fact]
    public void ATargetOnAnOlderTimelineIsRefused() =>
        Assert.Contains("older than timeline 2", Switchover(Healthy().WithHistory(2, "pg1"), "pg3"));

    [Fact]
    public void ARequestInProgressIsRefusedUntilItsDeadline()
    {
        Assert.Contains("already in progress", Switchover(Healthy().With(HaTestData.Switchover("pg1", "pg3")), "pg2"));
        var expired = HaTestData.Switchover("pg1", "pg3") with { Deadline = Now.AddSeconds(-1) };
        Assert.Null(Switchover(Healthy().With(expired), "pg2"));
    }

    [Fact]
    public void ASwitchoverIsAcceptedWhilePaused() => Assert.Null(Switchover(Healthy().With(new DcsConfig { Paused = true }), "pg2"));

    [Fact]
    public void AFailoverNeedsNoHealthyLeaderAndATarget()
    {
        Assert.Contains("healthy leader", Failover(Healthy(), "pg2"));
        var leaderless = View(null, Member("pg2", NodeRole.Replica, 1000), Member("pg3", NodeRole.Replica, 990));
        Assert.Contains("--to NODE", Failover(leaderless, null));
        Assert.Null(Failover(leaderless, "pg3"));
        Assert.Null(Failover(leaderless.With(new DcsConfig { Paused = true }), "pg3"));
    }

    [Fact]
    public void ASynchronousModeFailoverNeedsEveryPositionKnown()
    {
        var view = View(null, Member("pg2", NodeRole.Replica, 1000, timeline: 2)).With(new DcsConfig { SynchronousMode = true }).WithHistory(2, "pg1");
        Assert.Contains("pg3", Failover(view, "pg2"));
    }

    [Fact]
    public void UnderWriteLoadAStreamingReplicaIsJudgedByTheLagTheLeaderMeasured()
    {
        // Published a cycle apart: the leader 3 MB on, the replica's last publication 3 MB behind.
        var view = View("pg1", Member("pg1", NodeRole.Primary, 5_000_000), Member("pg2", NodeRole.Replica, 2_000_000), Member("pg3", NodeRole.Replica, 1_900_000));
        Assert.Contains("maximum_lag_on_failover", Switchover(view, "pg2"));
        // The leader's own snapshot: pg2 is 8 kB behind, pg3 really 2 MB behind.
        var measured = SwitchoverRules.WithMeasuredLag(view, new Dictionary<string, long> { ["pg2"] = 8192, ["pg3"] = 2_000_000 });
        Assert.Null(Switchover(measured, "pg2"));
        Assert.Contains("maximum_lag_on_failover", Switchover(measured, "pg3"));
        Assert.Equal("pg2", SwitchoverRules.BestCandidate(measured, "pg1", Nodes));
        // A measurement never moves a replica back from what it published itself, and names no one else.
        var behind = SwitchoverRules.WithMeasuredLag(view, new Dictionary<string, long> { ["pg2"] = 4_000_000, ["pg9"] = 0, ["pg1"] = 0 });
        Assert.Equal(2_000_000, behind.Members["pg2"].WalPosition);
        Assert.Equal(5_000_000, behind.Members["pg1"].WalPosition);
        Assert.False(behind.Members.ContainsKey("pg9"));
    }
}
