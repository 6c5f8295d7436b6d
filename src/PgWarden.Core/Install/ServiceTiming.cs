using PgWarden.Core.Ha;

namespace PgWarden.Core.Install;

/// <summary>
/// The systemd timings of an agent's unit, derived from the leader lease's TTL so that they agree with
/// the fencing design (docs/ha-safety.md, "Fencing" and "systemd as a backstop").
/// </summary>
public static class ServiceTiming
{
    /// <summary>
    /// WatchdogSec= in whole seconds: the fence watchdog's deadline (ttl − max(1 s, ttl/10), counted from
    /// the renewal) minus 1 s, at least 1 — 3 s at the default ttl of 5 s, 8 s at ttl 10. While the node is a
    /// writable primary the agent pings (WATCHDOG=1) only when it renews the lease (SystemdBackstop), so a
    /// stalled agent's unit is killed before its lease can expire even if its fence watchdog is gone too; while
    /// it is not, it pings after each HA cycle and relaxes the timeout to 30 s (WATCHDOG_USEC=), so a replica
    /// waiting on a slow DCS is not restarted. This is only the value the agent starts with: while armed,
    /// SystemdBackstop sets the timeout from the lease it holds at each renewal (a ttl changed at run time).
    /// </summary>
    public static int WatchdogSeconds(int ttlSeconds)
    {
        var ttl = TimeSpan.FromSeconds(ttlSeconds);
        var fenceDeadline = ttl - LeaseTiming.FenceMargin(ttl);
        return Math.Max(1, (int)Math.Floor(fenceDeadline.TotalSeconds) - 1);
    }

    /// <summary>
    /// RestartSec= in whole seconds: ttl + 1 s — a restarted agent comes back only after the lease its
    /// predecessor may have held has expired (etcd revokes expired leases on a 500 ms tick), so it never
    /// finds its own stale leader key; a replica has taken over (or the key is free) by then.
    /// </summary>
    public static int RestartSeconds(int ttlSeconds) => ttlSeconds + 1;

    /// <summary>
    /// TimeoutStopSec= in seconds: longer than the agent's clean stop can take — PostgreSQL's fast shutdown
    /// (up to 60 s, then killed), the lease release (3 s), within the host's 90 s shutdown timeout and the
    /// command line's 150 s termination grace (Program.cs) — so systemd's SIGKILL never cuts a clean stop short.
    /// </summary>
    public const int StopTimeoutSeconds = 180;

    /// <summary>
    /// TimeoutStartSec= in seconds: before it reports READY=1 the agent may stop a PostgreSQL left running by
    /// its predecessor (pg_ctl stop, up to 60 s) and load its configuration.
    /// </summary>
    public const int StartTimeoutSeconds = 180;
}
