using PgWarden.Agent.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>
/// Hostile review of the stale-lease fix: "a lease whose fence deadline passed is never written under
/// again" must hold also when the deadline passes *during* the renewal call. The keeper checked the
/// deadline only before sending the keepalive; a keepalive that answers after the fence deadline
/// (a slow etcd, a GC pause) re-armed the watchdog on the same lease, although the fence watchdog
/// process had fenced at that deadline and was releasing that very lease (a release that may land at
/// any later time, e.g. taken by etcd without quorum). The agent then restarts its PostgreSQL as a
/// writable primary under a lease that can be deleted beneath it.
/// </summary>
public sealed class HostileReviewLeaseTests
{
    [Fact]
    public async Task ARenewalAnsweredAfterTheFenceDeadlineDoesNotKeepWritingUnderThatLease()
    {
        var clock = new FakeClock();
        var dcs = new InMemoryDcs(clock);
        dcs.Seed(initialize: "pg1");
        var watchdog = new FakeWatchdog();
        var keeper = new LeaseKeeper(dcs, "pg1", watchdog, clock);
        var ttl = TimeSpan.FromSeconds(10);
        Assert.True(await keeper.TryAcquireAsync(ttl, CancellationToken.None));
        var lease = dcs.HeldLeaderLease;
        Assert.Equal(lease, watchdog.Lease);
        var fenceAt = watchdog.Deadline!.Value;

        // The next renewal is sent 0.5 s before the fence deadline and answered 1 s later: the fence
        // watchdog fired at its deadline in between and releases `lease`.
        clock.Advance(TimeSpan.FromSeconds(8.5));
        Assert.True(clock.GetTimestamp() < fenceAt);
        dcs.DuringRenewal = () => clock.Advance(TimeSpan.FromSeconds(1));
        var renewed = await keeper.RenewAsync(ttl, CancellationToken.None);
        dcs.DuringRenewal = null;
        Assert.True(clock.GetTimestamp() > fenceAt);

        Assert.Contains(lease, keeper.MayBeReleased);
        // Either the lease counts as lost, or the key was moved onto a new lease first.
        Assert.True(!renewed || (dcs.HeldLeaderLease != lease && watchdog.Lease != lease),
            $"renewed={renewed}, key on lease {dcs.HeldLeaderLease}, watchdog armed with lease {watchdog.Lease} (the one it may release: {lease})");
    }
}
