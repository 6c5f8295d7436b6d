using System.Net.Sockets;
using System.Text;
using PgWarden.Agent.Ha;
using PgWarden.Agent.Watchdog;

namespace PgWarden.Agent.Tests;

/// <summary>systemd's watchdog follows the lease: renewals ping while the fence is armed, cycles otherwise.</summary>
public sealed class SystemdBackstopTests
{
    private sealed class RecordingFence : IWatchdog
    {
        public List<string> Calls { get; } = [];
        public void Watch(int pid) => Calls.Add($"watch {pid}");
        public void KeepWritableUntil(long timestamp, long lease) => Calls.Add($"until {timestamp} {lease}");
        public void Disarm() => Calls.Add("disarm");
        public bool Healthy => true;
    }

    [Fact]
    public void RenewalsPingWhileArmedAndCyclesOnlyWhileNot()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pgwarden-notify-{Guid.NewGuid():N}.sock");
        using var server = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint(path));
        server.ReceiveTimeout = 200;
        try
        {
            using var systemd = new SystemdNotifier(path) { WatchdogTimeout = TimeSpan.FromSeconds(3) };
            var fence = new RecordingFence();
            var backstop = new SystemdBackstop(fence, systemd);
            var buffer = new byte[128];
            string Next() => Encoding.UTF8.GetString(buffer, 0, server.Receive(buffer));
            bool Silent()
            {
                try
                {
                    server.Receive(buffer);
                    return false;
                }
                catch (SocketException)
                {
                    return true;
                }
            }

            // Not armed: relaxed timeout, each completed cycle pings.
            Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=30000000", Next());
            backstop.CycleCompleted();
            Assert.Equal("WATCHDOG=1", Next());
            // Armed by a renewal: the unit's own timeout; then renewals ping and cycles do not.
            backstop.KeepWritableUntil(10, 7);
            Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=3000000", Next());
            backstop.CycleCompleted();
            Assert.True(Silent());
            backstop.KeepWritableUntil(20, 7);
            Assert.Equal("WATCHDOG=1", Next());
            // Disarmed: relaxed again.
            backstop.Disarm();
            Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=30000000", Next());
            backstop.CycleCompleted();
            Assert.Equal("WATCHDOG=1", Next());
            Assert.Equal(["until 10 7", "until 20 7", "disarm"], fence.Calls);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WithoutASystemdWatchdogItOnlyForwards()
    {
        using var systemd = new SystemdNotifier(null);
        var fence = new RecordingFence();
        var backstop = new SystemdBackstop(fence, systemd);
        backstop.Watch(42);
        backstop.KeepWritableUntil(5, 1);
        backstop.CycleCompleted();
        backstop.Disarm();
        Assert.Equal(["watch 42", "until 5 1", "disarm"], fence.Calls);
    }
}
