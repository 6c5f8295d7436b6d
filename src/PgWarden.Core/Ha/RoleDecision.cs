namespace PgWarden.Core.Ha;

/// <summary>What a node should do with its PostgreSQL, and the one sentence that says why.</summary>
public abstract record RoleDecision(string Reason)
{
    /// <summary>Run initdb and start as the first primary.</summary>
    public sealed record InitializePrimary(string Reason) : RoleDecision(Reason);

    /// <summary>Clone the data directory from <paramref name="Source"/> and start as its replica.</summary>
    public sealed record CloneFrom(string Source, string Reason) : RoleDecision(Reason);

    public sealed record StartPrimary(string Reason) : RoleDecision(Reason);

    /// <summary>Start (or stay) a replica streaming from <paramref name="Upstream"/>.</summary>
    public sealed record StartReplica(string Upstream, string Reason) : RoleDecision(Reason);

    /// <summary>Do nothing yet; look again next cycle.</summary>
    public sealed record Wait(string Reason) : RoleDecision(Reason);
}
