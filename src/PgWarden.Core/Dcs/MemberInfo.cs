using PgWarden.Core.Ha;

namespace PgWarden.Core.Dcs;

/// <summary>
/// What an agent publishes about its node every loop (a key with its own short lease, so a dead
/// agent's entry disappears). LSNs are byte offsets (see <see cref="Lsn"/>): for a primary its
/// current write position, for a replica what it received and what it replayed, for a node stopped
/// cleanly its shutdown checkpoint.
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
    DateTimeOffset UpdatedAt)
{
    /// <summary>The timeline of the node's last checkpoint: a new primary's is its old one until its first checkpoint (pg_rewind needs it to be the new one).</summary>
    public long CheckpointTimeline { get; init; }

    /// <summary>Stopped after a clean primary shutdown: <see cref="WalPosition"/> is the end of its WAL and it may lead again without promotion.</summary>
    public bool CleanlyStopped { get; init; }

    /// <summary>The hot-standby settings the running PostgreSQL uses (a primary's are what its replicas need at least).</summary>
    public HotStandbySettings? HotStandby { get; init; }

    /// <summary>Every replica slot the leader needs exists on this node (published by a primary).</summary>
    public bool SlotsReady { get; init; }

    /// <summary>Its last promotion failed (a stuck WAL receiver, say): other nodes do not wait for it to take over.</summary>
    public bool PromotionFailed { get; init; }

    /// <summary>Its data directory is empty (never initialised or cloned yet): it holds no commit, so synchronous mode does not wait for its position.</summary>
    public bool HasNoData { get; init; }

    /// <summary>
    /// Set while a rewound node has not reached a consistent state yet (so it publishes no position): the
    /// most WAL its data directory can hold (<see cref="RewindBound"/>). Synchronous mode counts it as known
    /// for a candidate that covers it.
    /// </summary>
    public RewindBound? HoldsAtMost { get; init; }

    /// <summary>Parameters changed in the configuration that take effect only after a restart (pg_settings.pending_restart), by name.</summary>
    public NameList PendingRestart { get; init; } = NameList.Empty;

    /// <summary>The fingerprint (<see cref="Parameters.DynamicParameters.Fingerprint"/>) of the DCS parameters its postgresql.conf was last rendered and reloaded with; null before the first.</summary>
    public string? ParametersApplied { get; init; }

    /// <summary>Lines of its configuration files PostgreSQL rejected at the last reload (pg_file_settings.error), empty when none.</summary>
    public NameList ConfigErrors { get; init; } = NameList.Empty;

    /// <summary>When its running postmaster started (null when not running): `pgwarden restart` waits for a newer one.</summary>
    public DateTimeOffset? PostgresStartedAt { get; init; }
}
