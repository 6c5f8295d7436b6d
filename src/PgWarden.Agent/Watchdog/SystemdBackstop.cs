using PgWarden.Agent.Ha;

namespace PgWarden.Agent.Watchdog;

/// <summary>
/// Ties systemd's watchdog (sd_notify WATCHDOG=1, <c>WatchdogSec=</c> of the unit `pgwarden install`
/// writes) to the leader lease. While this node is a writable primary (the fence is armed) only a
/// renewal pings systemd — a cycle that is slow after its renewal no longer looks like a stalled
/// agent, and a cycle that ends without a renewal does not push systemd's deadline past the lease.
/// The timeout while armed is derived from the lease actually held, not from the unit: at each renewal
/// it is the time left until the fence deadline that renewal set (<see cref="ArmedTimeout"/>), sent as
/// WATCHDOG_USEC= (sd_notify(3), systemd 236 and later; Debian 12 has 252) whenever it changes — so a
/// ttl lowered at run time (`pgwarden config apply --set ttl=N`, applied at the next renewal) also pulls systemd's
/// deadline in, and the unit's WatchdogSec= (computed from the ttl at install time) is only the value the
/// agent starts with. Otherwise nothing needs fencing: each completed cycle pings, and the timeout is
/// relaxed to <see cref="UnarmedTimeout"/> (or the unit's, if longer), so a replica whose cycle waits on
/// a slow DCS is not restarted. Every call reaches the fence watchdog process unchanged. Without a
/// systemd watchdog (no WATCHDOG_USEC) it only forwards.
/// </summary>
public sealed class SystemdBackstop : IWatchdog
{
    /// <summary>systemd's watchdog timeout while the fence is not armed (seconds; a hung agent of a replica is restarted after it).</summary>
    public static readonly TimeSpan UnarmedTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How much earlier than the fence deadline systemd's deadline falls while armed (1 s, as <c>ServiceTiming.WatchdogSeconds</c>).</summary>
    public static readonly TimeSpan FenceSlack = TimeSpan.FromSeconds(1);

    /// <summary>The armed timeout is rounded down to this step, so that renewals of varying duration do not change it every time.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    private readonly IWatchdog _fence;
    private readonly SystemdNotifier _systemd;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private bool _armed;
    private TimeSpan? _sentArmedTimeout;

    /// <param name="clock">The monotonic clock the fence deadlines are counted on (the lease keeper's); the system clock by default.</param>
    public SystemdBackstop(IWatchdog fence, SystemdNotifier systemd, TimeProvider? clock = null)
    {
        _fence = fence;
        _systemd = systemd;
        _clock = clock ?? TimeProvider.System;
        if (systemd.WatchdogTimeout is { } unit && unit < UnarmedTimeout)
        {
            systemd.SetWatchdogTimeout(UnarmedTimeout);
        }
    }

    public bool Armed
    {
        get
        {
            lock (_gate)
            {
                return _armed;
            }
        }
    }

    /// <summary>The timeout systemd has while the fence is not armed: <see cref="UnarmedTimeout"/>, or the unit's WatchdogSec= if that is longer.</summary>
    private TimeSpan Relaxed(TimeSpan unit) => unit > UnarmedTimeout ? unit : UnarmedTimeout;

    /// <summary>
    /// systemd's watchdog timeout for a ping sent <paramref name="untilFence"/> before the fence deadline of
    /// the lease just renewed: that time less <see cref="FenceSlack"/> (half of it when less than twice the
    /// slack is left), rounded down to <see cref="Step"/> (to whole milliseconds, at least 1 ms, below one
    /// step) — never past the fence deadline, so a stalled agent's unit is killed before its lease can expire
    /// even when its fence watchdog is gone too. Null when the deadline has already passed (a renewal that
    /// came back too late: the fence is killing PostgreSQL, and systemd keeps the deadline of its last ping).
    /// </summary>
    public static TimeSpan? ArmedTimeout(TimeSpan untilFence)
    {
        if (untilFence <= TimeSpan.Zero)
        {
            return null;
        }
        var timeout = untilFence >= FenceSlack * 2 ? untilFence - FenceSlack : untilFence / 2;
        var steps = timeout.Ticks / Step.Ticks;
        return steps > 0
            ? TimeSpan.FromTicks(steps * Step.Ticks)
            : TimeSpan.FromMilliseconds(Math.Max(1, Math.Floor(timeout.TotalMilliseconds)));
    }

    public void Watch(int pid) => _fence.Watch(pid);

    public void KeepWritableUntil(long timestamp, long lease)
    {
        // The fence call and the flag under one lock: a Disarm from a background action beside a
        // renewal must not leave the fence armed with systemd's relaxed timeout (or the reverse).
        lock (_gate)
        {
            _fence.KeepWritableUntil(timestamp, lease);
            if (_systemd.WatchdogTimeout is null)
            {
                _systemd.WatchdogPing();
            }
            else if (ArmedTimeout(_clock.GetElapsedTime(_clock.GetTimestamp(), timestamp)) is { } timeout)
            {
                if (_armed && _sentArmedTimeout == timeout)
                {
                    _systemd.WatchdogPing();
                }
                else
                {
                    _systemd.SetWatchdogTimeout(timeout);
                    _sentArmedTimeout = timeout;
                }
            }
            _armed = true;
        }
    }

    public void Disarm()
    {
        lock (_gate)
        {
            _fence.Disarm();
            if (_armed && _systemd.WatchdogTimeout is { } unit)
            {
                _systemd.SetWatchdogTimeout(Relaxed(unit));
            }
            _sentArmedTimeout = null;
            _armed = false;
        }
    }

    /// <summary>A completed HA cycle: pings systemd unless the fence is armed (then only renewals do).</summary>
    public void CycleCompleted()
    {
        lock (_gate)
        {
            if (!_armed)
            {
                _systemd.WatchdogPing();
            }
        }
    }

    public bool Healthy => _fence.Healthy;
}
