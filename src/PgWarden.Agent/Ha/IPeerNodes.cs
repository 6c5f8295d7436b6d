using PgWarden.Core.Config;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Ha;

/// <summary>What the agent reads from the other nodes' PostgreSQL directly (not through the DCS).</summary>
public interface IPeerNodes
{
    /// <summary>The timeline history file of <paramref name="timeline"/> from <paramref name="node"/> (replication protocol TIMELINE_HISTORY).</summary>
    Task<TimelineHistory> TimelineHistoryAsync(NodeConfig node, long timeline, CancellationToken ct);

    /// <summary>Whether <paramref name="node"/> answers as a writable primary now (false when unreachable or in recovery).</summary>
    Task<bool> IsPrimaryAsync(NodeConfig node, CancellationToken ct);

    /// <summary>How far a replica has received (and flushed) WAL, in bytes (pg_last_wal_receive_lsn); null if it reports none.</summary>
    Task<long?> ReceivedPositionAsync(NodeConfig node, CancellationToken ct);
}
