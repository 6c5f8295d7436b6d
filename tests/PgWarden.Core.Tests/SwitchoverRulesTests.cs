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
}
