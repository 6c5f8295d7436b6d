using System.Collections.Immutable;
using PgWarden.Agent;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

public class PoolerRoutesTests
{
    private readonly ClusterConfig _cluster = TestClusters.Demo();

    private static MemberInfo Member(string name, NodeRole role, bool running = true, string state = "running") =>
        new(name, role, state, running, 1, 100, 100, $"http://{name}", "127.0.0.1", 5432, 100, false, DateTimeOffset.UnixEpoch);

    private (string? Primary, string[] Replicas) Choose(string? leader, string? current, params MemberInfo[] members)
    {
        var view = new ClusterView(leader is null ? null : new LeaderInfo(leader, 1), members.ToImmutableDictionary(m => m.Name),
            new DcsConfig(), "pg1", null, [], null);
        var (primary, replicas) = PoolerRoutes.Choose(_cluster, view, current);
        return (primary?.Name, replicas.Select(r => r.Name).ToArray());
    }

    [Fact]
    public void TheLeaderGetsTheWritesAndStreamingReplicasTheReads()
    {
        var (primary, replicas) = Choose("pg2", null,
            Member("pg1", NodeRole.Replica, state: "streaming"), Member("pg2", NodeRole.Primary), Member("pg3", NodeRole.Replica, state: "streaming"));
        Assert.Equal("pg2", primary);
        Assert.Equal(["pg1", "pg3"], replicas);
    }

    [Fact]
    public void ANewLeaderReplacesTheCurrentRoute()
    {
        var (primary, _) = Choose("pg3", "pg1", Member("pg1", NodeRole.Stopped, running: false), Member("pg3", NodeRole.Primary));
        Assert.Equal("pg3", primary);
    }

    [Fact]
    public void WithoutALeaderTheCurrentRouteIsKept()
    {
        var (primary, _) = Choose(null, "pg1", Member("pg1", NodeRole.Primary), Member("pg2", NodeRole.Primary));
        Assert.Equal("pg1", primary);
    }

    [Fact]
    public void ALeaderThatIsNotYetARunningPrimaryDoesNotGetWritesYet()
    {
        // Lease taken, promotion not finished: keep writes where they were until it reports primary.
        var (primary, _) = Choose("pg2", "pg1", Member("pg1", NodeRole.Stopped, running: false), Member("pg2", NodeRole.Replica, state: "streaming"));
        Assert.Equal("pg1", primary);
    }

    [Fact]
    public void NoRouteAtAllBeforeAnyPrimary() =>
        Assert.Null(Choose(null, null, Member("pg2", NodeRole.Replica, state: "streaming")).Primary);

    [Fact]
    public void OnlyStreamingRunningReplicasServeReads()
    {
        var (_, replicas) = Choose("pg1", "pg1",
            Member("pg1", NodeRole.Primary), Member("pg2", NodeRole.Replica, state: "running"), Member("pg3", NodeRole.Replica, running: false, state: "streaming"));
        Assert.Empty(replicas);
    }

    [Fact]
    public void TheLeaderIsNeverAlsoAReadRoute()
    {
        var (primary, replicas) = Choose("pg1", null, Member("pg1", NodeRole.Primary, state: "streaming"), Member("pg2", NodeRole.Replica, state: "streaming"));
        Assert.Equal("pg1", primary);
        Assert.Equal(["pg2"], replicas);
    }

    private static readonly DateTimeOffset Now = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    private static FailoverRequest Switchover(string to, double secondsAgo = 1) =>
        new(FailoverKind.Switchover, "pg1", to, Now.AddSeconds(-secondsAgo)) { Deadline = Now.AddSeconds(30 - secondsAgo) };

    [Fact]
    public void APoolerResumesOnlyWhenItsWritesMoveToTheSwitchoverTarget()
    {
        Assert.True(PoolerRoutes.EndsSwitchover(Switchover("pg2"), "pg1", "pg2", Now));
        // the route did not move, moved elsewhere, or to nowhere
        Assert.False(PoolerRoutes.EndsSwitchover(Switchover("pg2"), "pg2", "pg2", Now));
        Assert.False(PoolerRoutes.EndsSwitchover(Switchover("pg2"), "pg1", "pg3", Now));
        Assert.False(PoolerRoutes.EndsSwitchover(Switchover("pg2"), "pg1", null, Now));
        // no switchover, a failover, or a request the agents have dropped at its deadline
        Assert.False(PoolerRoutes.EndsSwitchover(null, "pg1", "pg2", Now));
        Assert.False(PoolerRoutes.EndsSwitchover(new FailoverRequest(FailoverKind.Failover, null, "pg2", Now) { Deadline = Now.AddSeconds(30) }, "pg1", "pg2", Now));
        Assert.False(PoolerRoutes.EndsSwitchover(Switchover("pg2", secondsAgo: 31), "pg1", "pg2", Now));
    }
}
