using PgWarden.Agent.Ha;
using PgWarden.Agent.Watchdog;

namespace PgWarden.Agent.Tests;

/// <summary>
/// Hostile review of the systemd backstop: its armed flag (which decides between the lease-derived
/// timeout and the relaxed 30 s, and whether every cycle pings) must agree with the fence it
/// forwards to, also when a background action's Disarm (AbandonPromotionAsync, DemoteNowAsync,
/// HandOver) runs beside the cycle's renewal (KeepWritableUntil).
/// </summary>
public sealed class HostileReviewSystemdBackstopTests
{
    /// <summary>A fence whose Disarm returns only once the renewal beside it completed (or after a second).</summary>
    private sealed class InterleavingFence : IWatchdog
    {
        public readonly ManualResetEventSlim DisarmEntered = new();
        public readonly ManualResetEventSlim RenewalDone = new();
        private readonly Lock _gate = new();
        public bool FenceArmed { get; private set; }

        public void Watch(int pid)
        {
        }

        public void KeepWritableUntil(long timestamp, long lease)
        {
            lock (_gate)
            {
                FenceArmed = true;
            }
        }

        public void Disarm()
        {
            lock (_gate)
            {
                FenceArmed = false;
            }
            DisarmEntered.Set();
            RenewalDone.Wait(TimeSpan.FromSeconds(1));
        }

        public bool Healthy => true;
    }

    [Fact]
    public async Task ARenewalBesideADisarmNeverLeavesTheFenceArmedWithTheRelaxedTimeout()
    {
        using var systemd = new SystemdNotifier(null) { WatchdogTimeout = TimeSpan.FromSeconds(3) };
        var fence = new InterleavingFence();
        var backstop = new SystemdBackstop(fence, systemd);
        backstop.KeepWritableUntil(100, 1);
        Assert.True(backstop.Armed);

        var disarm = Task.Run(backstop.Disarm);          // a background action demotes
        Assert.True(fence.DisarmEntered.Wait(TimeSpan.FromSeconds(5)));
        var renew = Task.Run(() => backstop.KeepWritableUntil(200, 1)); // the cycle's renewal
        await Task.WhenAny(renew, Task.Delay(300));
        fence.RenewalDone.Set();
        await Task.WhenAll(disarm, renew);

        // Whatever the order, the backstop's state is the fence's: armed (tight timeout, renewals ping)
        // exactly when the fence process is armed.
        Assert.Equal(fence.FenceArmed, backstop.Armed);
    }
}
