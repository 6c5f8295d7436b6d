using PgWarden.Agent.Ha;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Fault 4: the leader hands over only once the target has its shutdown checkpoint; a switchover that cannot complete leaves a primary.</summary>
public sealed class SwitchoverTests
{
    private static async Task<AgentHarness> LeaderWithRequestAsync(int deadlineSeconds = 30)
    {
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg1");
        h.Node.AsPrimary(0x3000000);
        await h.CycleUntilAsync(d => d is HaDecision.Lead && h.Node.Running);
        h.Member("pg2", NodeRole.Replica, 0x3000000);
        h.Node.TakeActions();
        var now = h.Clock.GetUtcNow();
        await h.Dcs.RequestFailoverAsync(new FailoverRequest(FailoverKind.Switchover, "pg1", "pg2", now) { Deadline = now.AddSeconds(deadlineSeconds) }, CancellationToken.None);
        return h;
    }

    [Fact]
    public async Task TheLeaseIsReleasedOnlyAfterTheTargetReceivedTheShutdownCheckpoint()
    {
        var h = await LeaderWithRequestAsync();
        h.Peers.Received["pg2"] = 0x3000000;
        var receivedCheckpoint = new TaskCompletionSource();
        // The target receives the shutdown checkpoint only when the test says so.
        _ = Task.Run(async () =>
        {
            await receivedCheckpoint.Task;
            h.Peers.Received["pg2"] = 0x3000000 + 120;
        });
        Assert.IsType<HaDecision.HandOver>(await h.CycleAsync(waitForAction: false));
        await AgentHarness.EventuallyAsync(() => h.Node.Actions.Contains("stop Fast"), "the clean stop");
        await Task.Delay(50);
        Assert.Equal("pg1", h.Dcs.Leader);
        // Meanwhile the loop keeps the lease.
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync(waitForAction: false, advance: TimeSpan.Zero));
        Assert.Equal("pg1", h.Dcs.Leader);
        receivedCheckpoint.SetResult();
        await h.Agent.WhenIdleAsync();
        Assert.Null(h.Dcs.Leader);
        Assert.Equal(["stop Fast"], h.Node.TakeActions());
        Assert.Null(h.Watchdog.Deadline);
    }

    [Fact]
    public async Task ATargetThatStallsAfterTheCleanStopLeavesTheOldLeaderInChargeAtTheDeadline()
    {
        var h = await LeaderWithRequestAsync(deadlineSeconds: 5);
        h.Peers.Received["pg2"] = 0x3000000; // caught up, then its WAL receiver froze before the shutdown checkpoint
        Assert.IsType<HaDecision.HandOver>(await h.CycleAsync(waitForAction: false));
        // The loop keeps renewing the lease until the request's deadline passes.
        for (var i = 0; i < 6; i++)
        {
            await Task.Delay(20);
            await h.CycleAsync(waitForAction: false);
            Assert.Equal("pg1", h.Dcs.Leader);
        }
        await h.Agent.WhenIdleAsync();
        // The old leader restarted as primary.
        Assert.Equal("pg1", h.Dcs.Leader);
        Assert.True(h.Node.Running && !h.Node.InRecovery);
        Assert.Equal(["stop Fast", "start primary", "bootstrap"], h.Node.TakeActions());
        Assert.Null(h.Dcs.Failover);
        Assert.Contains(h.Events.Failures, f => f.Contains("switchover to pg2 abandoned") && f.Contains("shutdown checkpoint"));
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
    }

    [Fact]
    public async Task AStalledTargetIsNotHandedOverToAndThePrimaryKeepsRunning()
    {
        var h = await LeaderWithRequestAsync(deadlineSeconds: 3);
        h.Peers.Received["pg2"] = 0x3000000 - 78 * 1024; // a frozen WAL receiver, well inside maximum_lag_on_failover
        Assert.IsType<HaDecision.HandOver>(await h.CycleAsync(waitForAction: false));
        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(20);
            await h.CycleAsync(waitForAction: false);
        }
        await h.Agent.WhenIdleAsync();
        Assert.Equal("pg1", h.Dcs.Leader);
        Assert.True(h.Node.Running);
        Assert.DoesNotContain("stop Fast", h.Node.TakeActions());
        Assert.Null(h.Dcs.Failover);
    }

    [Fact]
    public async Task TheTargetTakesOverEvenWhilePaused()
    {
        var h = new AgentHarness("pg2");
        h.Dcs.Seed(initialize: "pg1", config: new DcsConfig { Paused = true });
        h.Node.AsStandby(0x3000078);
        h.Member("pg1", NodeRole.Stopped, 0x3000000, running: false);
        await h.Dcs.RequestFailoverAsync(new FailoverRequest(FailoverKind.Switchover, "pg1", "pg2", h.Clock.GetUtcNow()), CancellationToken.None);
        await h.CycleUntilAsync(d => d is HaDecision.AcquireAndPromote);
        Assert.Equal("pg2", h.Dcs.Leader);
        Assert.Contains("switchover to pg2 requested", h.Dcs.History.Single().Reason);
    }
}
