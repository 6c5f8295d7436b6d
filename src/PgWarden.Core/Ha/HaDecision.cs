namespace PgWarden.Core.Ha;

/// <summary>What one HA cycle does, and the one sentence that says why (logged when it changes).</summary>
public abstract record HaDecision(string Reason)
{
    /// <summary>This node leads: renew the lease and keep (or, after a crash, restart in place) a writable primary.</summary>
    public sealed record Lead(string Reason) : HaDecision(Reason);

    /// <summary>A cleanly stopped primary that is provably the most up to date: take the lease, then start it writable (no promotion, no new timeline).</summary>
    public sealed record AcquireAndStartPrimary(string Reason) : HaDecision(Reason);

    /// <summary>Take the leader lease (if not held) and promote the local replica.</summary>
    public sealed record AcquireAndPromote(string Reason) : HaDecision(Reason);

    /// <summary>A running primary without a leader key takes the lease without promoting anything.</summary>
    public sealed record AcquireAndLead(string Reason) : HaDecision(Reason);

    /// <summary>Stop accepting writes now (immediate shutdown); restart read-only when <paramref name="RestartReadOnly"/>.</summary>
    public sealed record Demote(bool RestartReadOnly, string Reason) : HaDecision(Reason);

    /// <summary>Give the lease up at once so that a replica takes over without waiting for the TTL.</summary>
    public sealed record ReleaseLease(string Reason) : HaDecision(Reason);

    /// <summary>Switchover: keep the lease, stop cleanly, and release it to <paramref name="Target"/> once it has every WAL record up to the shutdown checkpoint.</summary>
    public sealed record HandOver(string Target, string Reason) : HaDecision(Reason);

    /// <summary>Start the stopped PostgreSQL read-only, streaming from <paramref name="Upstream"/> (none: replay local WAL and wait).</summary>
    public sealed record StartReplica(string? Upstream, string Reason) : HaDecision(Reason);

    /// <summary>Be a replica streaming from <paramref name="Leader"/> (repoint primary_conninfo if needed).</summary>
    public sealed record Follow(string Leader, string Reason) : HaDecision(Reason);

    /// <summary>Restart the replica so that it runs with the hot-standby settings its WAL requires, following <paramref name="Leader"/>.</summary>
    public sealed record RestartReplica(string? Leader, string Reason) : HaDecision(Reason);

    /// <summary>
    /// A restart the operator requested (`pgwarden restart`): a fast shutdown and a start with the
    /// current configuration — as a replica of <paramref name="Leader"/>, or, when null, as the primary
    /// in place with the lease kept. Planned, so it is not counted as a crash.
    /// </summary>
    public sealed record Restart(string? Leader, string Reason) : HaDecision(Reason);

    /// <summary>Its WAL left <paramref name="Leader"/>'s history (a former primary, or a diverged replica): stop, pg_rewind, start as its replica.</summary>
    public sealed record Rejoin(string Leader, string Reason) : HaDecision(Reason);

    /// <summary>Set the data directory aside (kept) and clone <paramref name="Leader"/> afresh.</summary>
    public sealed record Reclone(string Leader, string Reason) : HaDecision(Reason);

    /// <summary>Clone <paramref name="Leader"/> into the empty data directory.</summary>
    public sealed record CloneLeader(string Leader, string Reason) : HaDecision(Reason);

    /// <summary>Claim the cluster's initialisation and run initdb.</summary>
    public sealed record Initialize(string Reason) : HaDecision(Reason);

    /// <summary>Nothing to change this cycle.</summary>
    public sealed record Wait(string Reason) : HaDecision(Reason);
}
