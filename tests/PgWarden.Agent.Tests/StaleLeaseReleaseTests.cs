using PgWarden.Agent.Ha;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>
/// The netns quorum-loss finding (bench/results/netns-partition-findings.md, finding 2): a release of
/// the old lease that lands after etcd's return (the fence watchdog's, or the agent's own failed one)
/// must not delete the key of a primary that is writable again, and a key that vanishes under a
/// writable primary stops its writes instead of starting a race with the replicas.
/// </summary>
public sealed class StaleLeaseReleaseTests
{
    /// <summary>pg1 led under lease 1, lost etcd until its lease ran out locally and demoted; etcd returns with lease 1 still alive (TTLs reset on a leader change).</summary>
    private static async Task<AgentHarness> AfterQuorumLossAndReturnAsync()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        Assert.Equal(1, h.Watchdog.Lease);
        h.Dcs.Unreachable = true;
        await h.CycleUntilAsync(d => d is HaDecision.Demote);
        // The outage outlasts the lease by the agent's clock (and the fence deadline the watchdog had).
        for (var i = 0; i < 10; i++)
        {
            await h.CycleAsync();
        }
        Assert.False(h.Agent.Lease.Held);
        Assert.True(h.Node.InRecovery);
        // etcd's new raft leader resets every lease's TTL: the key still names pg1 on lease 1.
        h.Dcs.ForceLeader("pg1", TimeSpan.FromSeconds(10));
        Assert.Equal(1, h.Dcs.HeldLeaderLease);
        h.Dcs.Unreachable = false;
        await h.CycleUntilAsync(d => d is HaDecision.Lead && h.Node.Running && !h.Node.InRecovery);
        return h;
    }

    [Fact]
    public async Task AfterTheReturnThePrimaryIsNotWritableUnderTheLeaseItLetGoOf()
    {
        var h = await AfterQuorumLossAndReturnAsync();
        Assert.Equal("pg1", h.Dcs.Leader);
        Assert.NotEqual(1, h.Dcs.HeldLeaderLease);
        Assert.Equal(h.Dcs.HeldLeaderLease, h.Watchdog.Lease);
        Assert.Contains(1L, h.Agent.Lease.MayBeReleased);
    }

    [Fact]
    public async Task AStaleReleaseOfTheOldLeaseLandingAfterTheReturnLeavesTheNewPrimarysKey()
    {
        var h = await AfterQuorumLossAndReturnAsync();
        // The fence watchdog's release of lease 1, requested during the outage, reaches etcd now.
        Assert.False(await h.Dcs.ReleaseLeaderLeaseAsync("pg1", 1, CancellationToken.None));
        Assert.Equal("pg1", h.Dcs.Leader);
        Assert.IsType<HaDecision.Lead>(await h.CycleAsync());
        Assert.True(h.Agent.Lease.Held);
        Assert.False(h.Node.InRecovery);
    }

    [Fact]
    public async Task AKeyThatVanishesWhileTheLeaseHasTimeLeftStopsWritesInsteadOfRacingForIt()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        Assert.True(h.Agent.Lease.Held);
        // Deleted behind pg1's back (a stale release), not expired.
        Assert.True(await h.Dcs.ReleaseLeaderLeaseAsync("pg1", h.Dcs.HeldLeaderLease, CancellationToken.None));
        var d = Assert.IsType<HaDecision.Demote>(await h.CycleAsync());
        Assert.True(d.RestartReadOnly);
        Assert.Contains("vanished", d.Reason);
        Assert.Equal("stop Immediate", h.Node.TakeActions().First());
        Assert.Null(h.Dcs.Leader);
        Assert.True(h.Node.InRecovery);
    }

    [Fact]
    public async Task ALeaseRenewedAfterItsFenceDeadlineIsMovedToANewOne()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        var keeper = h.Agent.Lease;
        var before = h.Dcs.HeldLeaderLease;
        // The loop stalls past the fence deadline (renewed 1 s ago, ttl 10 s, fence margin 1 s) but not past the lease.
        h.Clock.Advance(TimeSpan.FromSeconds(8.5));
        Assert.True(await keeper.RenewAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.NotEqual(before, h.Dcs.HeldLeaderLease);
        Assert.Equal(h.Dcs.HeldLeaderLease, h.Watchdog.Lease);
        // A renewal in time keeps the lease.
        var renewed = h.Dcs.HeldLeaderLease;
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await keeper.RenewAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Equal(renewed, h.Dcs.HeldLeaderLease);
    }
}
