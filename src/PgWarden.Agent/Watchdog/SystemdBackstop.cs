using PgWarden.Agent.Ha;

namespace PgWarden.Agent.Watchdog;

/// <summary>
/// Ties systemd's watchdog (sd_notify WATCHDOG=1, <c>WatchdogSec=</c> of the unit `pgwarden install`
/// writes) to the leader lease. While this node is a writable primary (the fence is armed) only a
/// renewal pings systemd — a cycle that is slow after its renewal no longer looks like a stalled
/// agent, and a cycle that ends without a renewal does not push systemd's deadline past the lease —
/// and the timeout is the unit's own (just under the fence deadline). Otherwise nothing needs fencing:
/// each completed cycle pings, and the timeout is relaxed to <see cref="UnarmedTimeout"/>, so a
/// replica whose cycle waits on a slow DCS is not restarted. Every call reaches the fence watchdog
/// process unchanged. Without a systemd watchdog (no WATCHDOG_USEC) it only forwards.
/// </summary>
public sealed class SystemdBackstop : IWatchdog
{
    /// <summary>systemd's watchdog timeout while the fence is not armed (seconds; a hung agent of a replica is restarted after it).</summary>
    public static readonly TimeSpan UnarmedTimeout = TimeSpan.FromSeconds(30);

    private readonly IWatchdog _fence;
    private readonly SystemdNotifier _systemd;
    private readonly Lock _gate = new();
    private bool _armed;

    public SystemdBackstop(IWatchdog fence, SystemdNotifier systemd)
    {
        _fence = fence;
        _systemd = systemd;
        if (systemd.WatchdogTimeout is { } tight && tight < UnarmedTimeout)
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

    public void Watch(int pid) => _fence.Watch(pid);

    public void KeepWritableUntil(long timestamp, long lease)
    {
        // The fence call and the flag under one lock: a Disarm from a background action beside a
        // renewal must not leave the fence armed with systemd's relaxed timeout (or the reverse).
        lock (_gate)
        {
            _fence.KeepWritableUntil(timestamp, lease);
            if (!_armed && _systemd.WatchdogTimeout is { } tight)
            {
                _systemd.SetWatchdogTimeout(tight);
            }
            else
            {
                _systemd.WatchdogPing();
            }
            _armed = true;
        }
    }

    public void Disarm()
    {
        lock (_gate)
        {
            _fence.Disarm();
            if (_armed && _systemd.WatchdogTimeout is { } tight && tight < UnarmedTimeout)
            {
                _systemd.SetWatchdogTimeout(UnarmedTimeout);
            }
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
