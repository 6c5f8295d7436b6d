using PgWarden.Agent;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

public class PoolerRoutesTests
{
    private readonly ClusterConfig _cluster = TestClusters.Demo();

    private static NodeStatus Status(string name, NodeRole role, bool running = true, string? walReceiver = null) =>
        new(name, role, running ? "running" : "stopped", running, 1, null, null, null, null, null, null, null, [], [])
        {
            WalReceiver = walReceiver,
        };

    private (string? Primary, string[] Replicas) Choose(string? current, params NodeStatus?[] statuses)
    {
        var map = _cluster.Nodes.Select((n, i) => (n.Name, Status: i < statuses.Length ? statuses[i] : null))
            .ToDictionary(x => x.Name, x => x.Status);
        var (primary, replicas) = PoolerRoutes.Choose(_cluster, map, current);
        return (primary?.Name, replicas.Select(r => r.Name).ToArray());
    }

    [Fact]
    public void TheSinglePrimaryGetsTheWrites()
    {
        var (primary, replicas) = Choose(null,
            Status("pg1", NodeRole.Replica, walReceiver: "streaming"),
            Status("pg2", NodeRole.Primary),
            Status("pg3", NodeRole.Replica, walReceiver: "streaming"));

        Assert.Equal("pg2", primary);
        Assert.Equal(["pg1", "pg3"], replicas);
    }

    [Fact]
    public void ASinglePrimaryReplacesTheCurrentOne()
    {
        var (primary, _) = Choose("pg1", Status("pg1", NodeRole.Replica), Status("pg2", NodeRole.Stopped, running: false), Status("pg3", NodeRole.Primary));

        Assert.Equal("pg3", primary);
    }

    [Fact]
    public void TwoPrimariesKeepTheCurrentOne()
    {
        var (primary, _) = Choose("pg1", Status("pg1", NodeRole.Primary), Status("pg2", NodeRole.Primary), null);

        Assert.Equal("pg1", primary);
    }

    [Fact]
    public void TwoPrimariesAndNoCurrentMeansNoWriteRoute()
    {
        var (primary, _) = Choose(null, Status("pg1", NodeRole.Primary), Status("pg2", NodeRole.Primary), null);

        Assert.Null(primary);
    }

    [Fact]
    public void NoPrimaryKeepsTheCurrentOne()
    {
        var (primary, replicas) = Choose("pg2", null, null, Status("pg3", NodeRole.Replica, walReceiver: "streaming"));

        Assert.Equal("pg2", primary);
        Assert.Equal(["pg3"], replicas);
    }

    [Fact]
    public void APrimaryWhosePostgresIsDownDoesNotCount()
    {
        var (primary, _) = Choose("pg1", Status("pg1", NodeRole.Primary, running: false), Status("pg2", NodeRole.Primary), null);

        Assert.Equal("pg2", primary);
    }

    [Fact]
    public void UnknownCurrentPrimaryIsDropped()
    {
        var (primary, _) = Choose("pg9", null, null, null);

        Assert.Null(primary);
    }

    [Fact]
    public void OnlyStreamingReplicasServeReads()
    {
        var (_, replicas) = Choose(null,
            Status("pg1", NodeRole.Primary),
            Status("pg2", NodeRole.Replica, walReceiver: "waiting"),
            Status("pg3", NodeRole.Replica, walReceiver: "streaming"));

        Assert.Equal(["pg3"], replicas);
    }

    [Fact]
    public void StoppedOrWalReceiverlessReplicasServeNoReads()
    {
        var (_, replicas) = Choose(null,
            Status("pg1", NodeRole.Primary, walReceiver: "streaming"),
            Status("pg2", NodeRole.Replica, running: false, walReceiver: "streaming"),
            Status("pg3", NodeRole.Replica));

        Assert.Empty(replicas);
    }
}
