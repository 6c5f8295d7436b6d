namespace PgWarden.Core.Ha;

/// <summary>What one HA cycle does, and the one sentence that says why (logged every cycle).</summary>
public abstract record HaDecision(string Reason)
{
    /// <summary>This node leads: renew the lease and stay (or become, after a restart) a writable primary.</summary>
    public sealed record Lead(string Reason) : HaDecision(Reason);

    /// <summary>Take the leader lease (if not held) and promote the local replica.</summary>
    public sealed record AcquireAndPromote(string Reason) : HaDecision(Reason);

    /// <summary>A running primary without a leader key takes the lease without promoting anything.</summary>
    public sealed record AcquireAndLead(string Reason) : HaDecision(Reason);

    /// <summary>Stop accepting writes now: restart PostgreSQL read-only, without a lease.</summary>
    public sealed record Demote(string Reason) : HaDecision(Reason);

    /// <summary>Give the lease up at once so that a replica takes over without waiting for the TTL.</summary>
    public sealed record ReleaseLease(string Reason) : HaDecision(Reason);

    /// <summary>Be a replica streaming from <paramref name="Leader"/>.</summary>
    public sealed record Follow(string Leader, string Reason) : HaDecision(Reason);

    /// <summary>A former primary while <paramref name="Leader"/> leads: stop, pg_rewind from it, start as its replica.</summary>
    public sealed record Rejoin(string Leader, string Reason) : HaDecision(Reason);

    /// <summary>Nothing to change this cycle.</summary>
    public sealed record Wait(string Reason) : HaDecision(Reason);
}
