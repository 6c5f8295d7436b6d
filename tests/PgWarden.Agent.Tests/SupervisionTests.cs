using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Crashed and hung PostgreSQL: restart budgets, fencing, giving the lease up.</summary>
public sealed class SupervisionTests
{
    [Fact]
    public async Task ACrashedPrimaryIsRestartedInPlaceOnceThenTheLeaseGoes()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Node.Crash();
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        Assert.Equal(["start primary"], h.Node.TakeActions());
        Assert.True(h.Node.Running);
        Assert.Equal("pg1", h.Dcs.Leader);

        // A second crash within the minute: the node is failed and the lease released at once.
        h.Node.Crash();
        await h.CycleAsync();
        Assert.IsType<HaDecision.ReleaseLease>(await h.CycleAsync());
        Assert.Null(h.Dcs.Leader);
        Assert.False(h.Node.Running);
    }

    [Fact]
    public async Task AHungPrimaryIsFencedAfterThreeUnansweredChecksAndGivesTheLeaseUp()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Node.Hung = true;
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        // The third unanswered check fences it (every process killed) and the same cycle lets the lease go.
        Assert.IsType<HaDecision.ReleaseLease>(await h.CycleAsync());
        Assert.Contains("kill tree", h.Node.TakeActions());
        Assert.Contains(h.Events.Failures, f => f.Contains("hung"));
        Assert.Null(h.Dcs.Leader);
    }

    [Fact]
    public async Task ACrashedReplicaIsRestartedWithBackOff()
    {
        var h = await AgentHarness.StreamingReplicaAsync("pg2");
        h.Node.TakeActions();
        h.Node.Crash();
        Assert.IsType<HaDecision.StartReplica>(await h.CycleAsync());
        Assert.Contains("start replica of pg1", h.Node.TakeActions());
    }
}
