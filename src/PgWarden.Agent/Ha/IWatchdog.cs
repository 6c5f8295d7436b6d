namespace PgWarden.Agent.Ha;

/// <summary>
/// The fence that does not depend on the agent's loop: a separate process that stops the watched
/// postmaster (every process of it, SIGKILL) when the deadline it was last given passes. The agent
/// moves the deadline forward only after renewing the leader lease, to a point before the lease can
/// expire — so a primary whose agent is frozen, blocked or killed stops accepting writes before any
/// other node can take the lease. Times are monotonic timestamps (<see cref="TimeProvider.GetTimestamp"/>).
/// </summary>
public interface IWatchdog
{
    /// <summary>The postmaster to fence (0: none).</summary>
    void Watch(int pid);

    /// <summary>
    /// Arms (or moves) the deadline: past <paramref name="timestamp"/> the watched postmaster is
    /// killed. <paramref name="lease"/> is the leader lease held now: once the postmaster is dead the
    /// watchdog may release exactly that lease, so the next leader need not wait for it to expire.
    /// </summary>
    void KeepWritableUntil(long timestamp, long lease);

    /// <summary>No deadline: the node is not a writable primary.</summary>
    void Disarm();

    /// <summary>The watchdog runs and has acknowledged recent instructions; a primary must not run without one.</summary>
    bool Healthy { get; }
}
