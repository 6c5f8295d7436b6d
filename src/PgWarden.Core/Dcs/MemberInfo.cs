using PgWarden.Core.Ha;

namespace PgWarden.Core.Dcs;

/// <summary>
/// What an agent publishes about its node every loop (a key with its own short lease, so a dead
/// agent's entry disappears). LSNs are byte offsets (see <see cref="Lsn"/>): for a primary its
/// current write position, for a replica what it received and what it replayed.
/// </summary>
public sealed record MemberInfo(
    string Name,
    NodeRole Role,
    string State,
    bool PostgresRunning,
    long Timeline,
    long? WalPosition,
    long? ReplayedLsn,
    string ApiUrl,
    string Address,
    int Port,
    int Priority,
    bool NoFailover,
    DateTimeOffset UpdatedAt);
