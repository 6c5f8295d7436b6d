namespace PgWarden.Core.Ha;

/// <summary>
/// What the agent knows of its own node at the start of an HA cycle.
/// </summary>
/// <param name="PostgresRunning">The postmaster runs and answers queries.</param>
/// <param name="Role">Primary (not in recovery) or Replica, as PostgreSQL itself reports; Unknown when not running.</param>
/// <param name="WalPosition">Primary: current write LSN; replica: last received (or replayed) LSN, as bytes.</param>
/// <param name="LeaseExpiresAt">When the leader lease this node holds can expire at the earliest, by its own clock (null: holds none).</param>
/// <param name="PostgresFailed">PostgreSQL crashed and did not come back within the restart budget, or hung and was fenced.</param>
public sealed record LocalState(
    string Name,
    bool PostgresRunning,
    NodeRole Role,
    long Timeline,
    long? WalPosition,
    DateTimeOffset? LeaseExpiresAt,
    bool PostgresFailed,
    bool NoFailover,
    int Priority)
{
    /// <summary>The other nodes of the cluster (from the configuration): in synchronous mode all must be visible to fail over.</summary>
    public IReadOnlyList<string> Peers { get; init; } = [];
}
