using System.Net.Sockets;
using System.Text;
using PgWarden.Agent.Ha;
using PgWarden.Agent.Watchdog;

namespace PgWarden.Agent.Tests;

/// <summary>
/// systemd's watchdog follows the lease: renewals ping while the fence is armed, cycles otherwise, and
/// the armed timeout comes from the lease held (the fence deadline its renewal set), not from the unit.
/// </summary>
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

    /// <summary>The notify socket systemd would listen on, as a datagram socket of the test.</summary>
    private sealed class FakeSystemd : IDisposable
    {
        private readonly Socket _server = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        private readonly byte[] _buffer = new byte[256];

        public FakeSystemd()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"pgwarden-notify-{Guid.NewGuid():N}.sock");
            _server.Bind(new UnixDomainSocketEndPoint(Path));
            _server.ReceiveTimeout = 200;
        }

        public string Path { get; }

        public string Next() => Encoding.UTF8.GetString(_buffer, 0, _server.Receive(_buffer));

        public bool Silent()
        {
            try
            {
                _server.Receive(_buffer);
                return false;
            }
            catch (SocketException)
            {
                return true;
            }
        }

        public void Dispose()
        {
            _server.Dispose();
            File.Delete(Path);
        }
    }

    private static long In(FakeClock clock, double seconds) => clock.GetTimestamp() + TimeSpan.FromSeconds(seconds).Ticks;

    [Fact]
    public void RenewalsPingWhileArmedAndCyclesOnlyWhileNot()
    {
        using var fake = new FakeSystemd();
        using var systemd = new SystemdNotifier(fake.Path) { WatchdogTimeout = TimeSpan.FromSeconds(3) };
        var clock = new FakeClock();
        var fence = new RecordingFence();
        var backstop = new SystemdBackstop(fence, systemd, clock);

        // Not armed: relaxed timeout, each completed cycle pings.
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=30000000", fake.Next());
        backstop.CycleCompleted();
        Assert.Equal("WATCHDOG=1", fake.Next());
        // Armed by a renewal whose fence deadline is 4 s away (ttl 5): 3 s, the unit's own value at ttl 5;
        // then renewals ping and cycles do not.
        var first = In(clock, 4);
        backstop.KeepWritableUntil(first, 7);
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=3000000", fake.Next());
        backstop.CycleCompleted();
        Assert.True(fake.Silent());
        clock.Advance(TimeSpan.FromSeconds(1));
        var second = In(clock, 4);
        backstop.KeepWritableUntil(second, 7);
        Assert.Equal("WATCHDOG=1", fake.Next());
        // Disarmed: relaxed again.
        backstop.Disarm();
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=30000000", fake.Next());
        backstop.CycleCompleted();
        Assert.Equal("WATCHDOG=1", fake.Next());
        Assert.Equal([$"until {first} 7", $"until {second} 7", "disarm"], fence.Calls);
    }

    [Fact]
    public async Task ATtlChangedAtRunTimeMovesSystemdsDeadlineWithTheLeaseHeld()
    {
        using var fake = new FakeSystemd();
        // Installed at ttl 10: WatchdogSec=8.
        using var systemd = new SystemdNotifier(fake.Path) { WatchdogTimeout = TimeSpan.FromSeconds(8) };
        var clock = new FakeClock();
        var dcs = new InMemoryDcs(clock);
        var backstop = new SystemdBackstop(new RecordingFence(), systemd, clock);
        var lease = new LeaseKeeper(dcs, "pg1", backstop, clock);
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=30000000", fake.Next());

        Assert.True(await lease.TryAcquireAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=8000000", fake.Next());   // fence at 9 s, less 1 s
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await lease.RenewAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Equal("WATCHDOG=1", fake.Next());                          // unchanged: a plain ping

        // `config set dcs.ttl 3`: the key moves to a 3 s lease, fenced 2 s after the renewal. systemd's
        // deadline must come before that, not 8 s after the ping (5 s past the lease).
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await lease.RenewAsync(TimeSpan.FromSeconds(3), CancellationToken.None));
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=1000000", fake.Next());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await lease.RenewAsync(TimeSpan.FromSeconds(3), CancellationToken.None));
        Assert.Equal("WATCHDOG=1", fake.Next());

        // Raised to 20 at run time: fenced 18 s after the renewal, so 17 s (the unit's 8 s would only be stricter than the lease needs).
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await lease.RenewAsync(TimeSpan.FromSeconds(20), CancellationToken.None));
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=17000000", fake.Next());
    }

    [Fact]
    public void ARenewalThatReturnsLateGetsADeadlineBeforeItsFenceOrNoPingAtAll()
    {
        using var fake = new FakeSystemd();
        using var systemd = new SystemdNotifier(fake.Path) { WatchdogTimeout = TimeSpan.FromSeconds(3) };
        var clock = new FakeClock();
        var backstop = new SystemdBackstop(new RecordingFence(), systemd, clock);
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=30000000", fake.Next());

        backstop.KeepWritableUntil(In(clock, 4), 7);
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=3000000", fake.Next());
        // The DCS answered 2.5 s after the request: 1.5 s left to the fence deadline, so 0.75 s, not the unit's 3 s.
        backstop.KeepWritableUntil(In(clock, 1.5), 7);
        Assert.Equal("WATCHDOG=1\nWATCHDOG_USEC=750000", fake.Next());
        // After its own fence deadline: no ping, systemd keeps the deadline of the last one.
        backstop.KeepWritableUntil(In(clock, -0.5), 7);
        Assert.True(fake.Silent());
    }

    [Theory]
    [InlineData(4.0, 3000)]     // ttl 5, renewed at once: the unit's WatchdogSec=3
    [InlineData(9.0, 8000)]     // ttl 10: WatchdogSec=8
    [InlineData(3.98, 2750)]    // 20 ms of renewal: rounded down to the 250 ms step
    [InlineData(2.0, 1000)]
    [InlineData(1.5, 750)]      // under twice the slack: half of what is left
    [InlineData(0.3, 150)]      // below one step: whole milliseconds
    [InlineData(0.0015, 1)]
    public void TheArmedTimeoutAlwaysEndsBeforeTheFenceDeadline(double untilFence, int expectedMs)
    {
        var timeout = SystemdBackstop.ArmedTimeout(TimeSpan.FromSeconds(untilFence));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), timeout);
        Assert.True(timeout < TimeSpan.FromSeconds(untilFence));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    public void NoArmedTimeoutOncePastTheFenceDeadline(double untilFence) =>
        Assert.Null(SystemdBackstop.ArmedTimeout(TimeSpan.FromSeconds(untilFence)));

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
