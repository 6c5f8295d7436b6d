namespace PgWarden.Monitoring.Maintenance;

/// <summary>
/// A session that blocks another one (from <c>pg_blocking_pids</c>), with what it runs and the lock in question.
/// </summary>
/// <param name="Pid">The blocking backend's PID.</param>
/// <param name="User">Its role (<c>pg_stat_activity.usename</c>).</param>
/// <param name="State">Its state, e.g. <c>idle in transaction</c>.</param>
/// <param name="Query">Its current or last statement.</param>
/// <param name="TransactionAgeSeconds">Seconds since its transaction (or else its query) started; null when unknown.</param>
/// <param name="WaitedMode">The lock mode the waiting session asks for, e.g. <c>ShareUpdateExclusiveLock</c> (null when it waits for no heavyweight lock).</param>
/// <param name="LockedObject">What that lock is on: a relation name, <c>virtual transaction 5/123</c>, <c>transaction 742</c>.</param>
/// <param name="HeldModes">The modes the blocker holds on the same object, e.g. <c>ShareLock</c> (null when it only waits ahead in the queue).</param>
public sealed record LockBlocker(
    int Pid,
    string? User,
    string? State,
    string? Query,
    double? TransactionAgeSeconds,
    string? WaitedMode,
    string? LockedObject,
    string? HeldModes);
