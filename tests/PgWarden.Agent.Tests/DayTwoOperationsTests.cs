using System.Collections.Immutable;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>The agent's side of the day-2 commands: cluster-wide parameters (config apply), reload, planned restarts, scheduled switchovers.</summary>
public sealed class DayTwoOperationsTests
{
    private static DcsConfig WithParameters(params (string Name, string Value)[] parameters) =>
        new() { Parameters = parameters.ToImmutableSortedDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal) };

    [Fact]
    public async Task ParametersWrittenToTheDcsAreRenderedAndReloadedOnTheRunningNode()
    {
        var h = await AgentHarness.StreamingReplicaAsync();
        var reloads = h.Node.Reloads;
        await h.Dcs.WriteConfigAsync(WithParameters(("work_mem", "16MB")), CancellationToken.None);
        await h.CycleAsync();
        Assert.Equal("16MB", h.Node.LastParameters["work_mem"]);
        Assert.Equal(reloads + 1, h.Node.Reloads);
        Assert.Equal("pg1", h.Node.Upstream);
        Assert.Contains(h.Events.Decisions, d => d.Contains("cluster parameters changed", StringComparison.Ordinal));
        Assert.Equal(Core.Parameters.DynamicParameters.Fingerprint(h.Node.LastParameters), h.Dcs.Member("pg2")!.ParametersApplied);

        // Nothing changed: no second reload.
        await h.CycleAsync();
        Assert.Equal(reloads + 1, h.Node.Reloads);
    }

    [Fact]
    public async Task ANodeThatWasDownGetsTheParametersWhenItStarts()
    {
        var h = new AgentHarness("pg2");
        h.Dcs.Seed(initialize: "pg1", config: WithParameters(("shared_buffers", "256MB")));
        h.Node.AsStandby(0x3000000);
        h.Dcs.ForceLeader("pg1", TimeSpan.FromMinutes(5));
        h.Member("pg1", NodeRole.Primary, 0x3000000);
        await h.CycleUntilAsync(d => d is HaDecision.Follow && h.Node.Running);
        Assert.Equal("256MB", h.Node.LastParameters["shared_buffers"]);
    }

    [Fact]
    public async Task AReloadRequestIsCarriedOutByTheLoop()
    {
        var h = await AgentHarness.StreamingReplicaAsync();
        var reloads = h.Node.Reloads;
        var outcome = h.State.RequestReloadAsync();
        await h.CycleAsync();
        Assert.Null((await outcome).Error);
        Assert.Equal(reloads + 1, h.Node.Reloads);
    }

    [Fact]
    public async Task ARequestedRestartOfTheLeaderKeepsTheLeaseAndIsNoCrash()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        Assert.Null(h.State.RequestRestartForTest(h));
        Assert.IsType<HaDecision.Restart>(await h.CycleAsync());
        Assert.Equal(["stop Fast", "start primary"], h.Node.TakeActions());
        Assert.Equal("pg1", h.Dcs.Leader);
        Assert.True(h.Node.Running);
        Assert.DoesNotContain(h.Events.Failures, f => f.Contains("unexpectedly", StringComparison.Ordinal));

        // Three planned restarts in a row: none counts against the crash budget (a third crash would release the lease).
        for (var i = 0; i < 2; i++)
        {
            h.State.RequestRestartForTest(h);
            await h.CycleAsync();
        }
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        Assert.Equal("pg1", h.Dcs.Leader);
        Assert.Null(h.Dcs.Failover);
    }

    [Fact]
    public async Task ARequestedRestartOfAReplicaStreamsFromTheLeaderAgain()
    {
        var h = await AgentHarness.StreamingReplicaAsync();
        Assert.Null(h.State.RequestRestartForTest(h));
        Assert.IsType<HaDecision.Restart>(await h.CycleAsync());
        Assert.Equal(["stop Fast", "start replica of pg1"], h.Node.TakeActions().Take(2));
        Assert.False(h.State.RestartPending);
    }

    [Fact]
    public async Task AScheduledSwitchoverWaitsAtTheNormalPaceThenHandsOver()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Member("pg2", NodeRole.Replica, 0x3000000);
        var at = h.Clock.GetUtcNow().AddSeconds(10);
        await h.Dcs.RequestFailoverAsync(new FailoverRequest(FailoverKind.Switchover, "pg1", "pg2", h.Clock.GetUtcNow()) { ScheduledAt = at, Deadline = at.AddSeconds(30) }, CancellationToken.None);
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        Assert.False(h.Agent.LeadershipChanging);
        Assert.Equal(at, h.State.Current.ScheduledSwitchover?.ScheduledAt);
        Assert.NotNull(h.Dcs.Failover);
        // Each cycle passes loop_wait (1 s): the leader keeps leading until the scheduled time, then hands over.
        while (true)
        {
            var before = h.Clock.GetUtcNow();
            var d = await h.CycleAsync(waitForAction: false);
            if (d is HaDecision.HandOver)
            {
                Assert.True(before >= at);
                break;
            }
            Assert.IsType<HaDecision.Lead>(d);
            Assert.True(before < at);
        }
    }
}

internal static class RestartRequests
{
    /// <summary>What POST /restart does, after the agent published its state (running, role).</summary>
    public static string? RequestRestartForTest(this NodeState state, AgentHarness h)
    {
        state.View = h.Agent.LastView;
        return state.RequestRestart();
    }
}
