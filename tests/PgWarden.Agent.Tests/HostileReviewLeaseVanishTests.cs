using PgWarden.Agent.Ha;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>
/// Hostile review 14 of "a running primary whose leader key vanished while its lease had time left
/// stops writing" (HaDecider.RunningPrimaryWithoutLeader, NodeAgent.RunCycleAsync).
/// </summary>
public sealed class HostileReviewLeaseVanishTests
{
    [Fact]
    public async Task TheVanishedKeyIsRememberedWhenTheCycleThatSawItCouldNotSeeThePrimary()
    {
        // The key vanishes in a cycle whose status check times out (CPU saturated, a slow checkpoint):
        // that cycle does not see a running primary, forgets the lease, and the next cycle — PostgreSQL
        // answering again as a writable primary — must still stop writes, not retake the key while the
        // replicas (which saw no leader either) may be promoting.
        var h = await AgentHarness.RunningLeaderAsync();
        h.Node.Hung = true;
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        Assert.IsNotType<HaDecision.Demote>(await h.CycleAsync());
        h.Node.Hung = false;
        var d = Assert.IsType<HaDecision.Demote>(await h.CycleAsync());
        Assert.Contains("vanished", d.Reason);
        Assert.True(h.Node.InRecovery);
        Assert.Null(h.Dcs.Leader);
    }

    [Fact]
    public async Task APausedClusterKeepsItsPrimaryWhenTheLeaderKeyIsDeleted()
    {
        // Paused: no replica takes over without a leader (HaDecider.NoLeader waits), so there is nobody
        // to race. Demoting the primary then leaves the cluster with no primary at all until resume
        // (the demoted node restarts read-only and waits, paused). Patroni keeps the primary in pause.
        var h = await AgentHarness.RunningLeaderAsync();
        await h.Dcs.UpdateConfigAsync(c => c with { Paused = true }, CancellationToken.None);
        await h.CycleAsync();
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        var decisions = new List<HaDecision>();
        for (var i = 0; i < 5; i++)
        {
            decisions.Add(await h.CycleAsync());
        }
        Assert.DoesNotContain(decisions, d => d is HaDecision.Demote);
        Assert.False(h.Node.InRecovery);
        Assert.Equal("pg1", h.Dcs.Leader);
    }

    [Fact]
    public async Task APausedClusterWithAFailoverRequestToAnotherNodeStillStopsWrites()
    {
        // A manual failover is carried out even while paused: the target may promote, so the rule holds.
        var h = await AgentHarness.RunningLeaderAsync();
        await h.Dcs.UpdateConfigAsync(c => c with { Paused = true }, CancellationToken.None);
        await h.CycleAsync();
        await h.Dcs.RequestFailoverAsync(new FailoverRequest(FailoverKind.Failover, null, "pg2", h.Clock.GetUtcNow()), CancellationToken.None);
        h.Dcs.ForceLeader(null, TimeSpan.Zero);
        Assert.IsType<HaDecision.Demote>(await h.CycleAsync());
        Assert.True(h.Node.InRecovery);
    }

    [Fact]
    public async Task AServerShuttingDownForAPlannedStopIsNotFencedAsHung()
    {
        // CI, scheduled switchover under load: the hand-over's fast shutdown took longer than three
        // status checks; the shutting-down server refused them, the supervisor fenced it as hung, and
        // the switchover was abandoned ("this primary did not shut down cleanly in time").
        var h = await AgentHarness.RunningLeaderAsync();
        var slow = new TaskCompletionSource();
        h.Node.Gates["stop"] = slow;
        var stop = h.Agent.Postmaster.StopAsync(ShutdownMode.Fast);
        h.Node.Hung = true;
        for (var i = 0; i < 5; i++)
        {
            await h.Agent.Postmaster.ObserveAsync(CancellationToken.None);
        }
        Assert.DoesNotContain("kill tree", h.Node.TakeActions());
        slow.SetResult();
        await stop;
        Assert.NotEqual(PostmasterState.Fenced, h.Agent.Postmaster.State);
    }
}
