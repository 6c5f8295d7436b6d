namespace PgWarden.Core.Ha;

/// <summary>
/// What the agent knows of its own node at the start of an HA cycle. Positions are bytes (see
/// <see cref="Lsn"/>); <see cref="LeaseRemaining"/> comes from a monotonic clock.
/// </summary>
public sealed record LocalState(string Name)
{
    /// <summary>What the data directory holds.</summary>
    public LocalDataState Data { get; init; }

    /// <summary>The postmaster's life as the supervisor sees it.</summary>
    public PostmasterState Postmaster { get; init; }

    /// <summary>Primary or Replica as the running PostgreSQL reports it; Unknown when not running.</summary>
    public NodeRole Role { get; init; }

    /// <summary>The timeline the node's WAL is on (running: its current one; stopped: its last checkpoint's).</summary>
    public long Timeline { get; init; }

    /// <summary>Primary: current write position; replica: the larger of received and replayed; stopped after a clean shutdown: its shutdown checkpoint.</summary>
    public long? WalPosition { get; init; }

    /// <summary>Stopped, and pg_control says a clean primary shutdown: <see cref="WalPosition"/> is the end of its WAL.</summary>
    public bool CleanShutdown { get; init; }

    /// <summary>How long the leader lease this node holds is safe for, by the monotonic clock (null: it holds none).</summary>
    public TimeSpan? LeaseRemaining { get; init; }

    /// <summary>
    /// The DCS shows no leader key although the lease this node held still had this long left by its
    /// own monotonic clock (null otherwise): the key was deleted or its lease revoked, not expired — a
    /// release from an earlier fencing or demotion may have landed after etcd regained quorum. The
    /// replicas see no leader either and may be taking over already.
    /// </summary>
    public TimeSpan? LeaseLeftWhenKeyVanished { get; init; }

    /// <summary>PostgreSQL crashed and did not come back within its restart budget, or hung and was fenced.</summary>
    public bool PostgresFailed { get; init; }

    public bool NoFailover { get; init; }

    public int Priority { get; init; } = 100;

    /// <summary>The other nodes of the cluster (from the configuration): in synchronous mode all must be visible to fail over.</summary>
    public IReadOnlyList<string> Peers { get; init; } = [];

    /// <summary>This node may run initdb for a new cluster (it is the bootstrap node, or that one never showed up).</summary>
    public bool MayInitialize { get; init; }

    /// <summary>A long action (clone, pg_rewind, start-up, hand-over …) runs beside the loop; what it is.</summary>
    public string? Busy { get; init; }

    /// <summary>The node a running replica streams from (its primary_conninfo), if any.</summary>
    public string? Upstream { get; init; }

    /// <summary>
    /// Whether its WAL left the current leader's timeline history (from the leader's history file):
    /// true needs pg_rewind, false can stream on as it is, null is not known (yet).
    /// </summary>
    public bool? DivergedFromLeader { get; init; }

    /// <summary>`pgwarden reinit` asked to re-clone this node.</summary>
    public bool ReinitRequested { get; init; }

    /// <summary>Starting it as a replica failed this many times in a row.</summary>
    public int StartFailures { get; init; }

    /// <summary>A running replica whose hot-standby settings are below what it replays: why, else null.</summary>
    public string? HotStandbyShortfall { get; init; }

    /// <summary>A primary: bytes of WAL written beyond the position last recorded in the DCS (optime); null when unknown.</summary>
    public long? UnrecordedWal { get; init; }

    /// <summary>
    /// Asynchronous mode's maximum_lag_on_failover (bytes; 0 in synchronous mode): a primary that cannot
    /// record its position stops writing before it is this far ahead of the last recorded one, so a
    /// failover cannot lose more.
    /// </summary>
    public long LagLimit { get; init; }

    /// <summary>
    /// A running replica that has not streamed from the leader for a long time although the leader
    /// answers as primary (the WAL it needs is gone, say): only a re-clone brings it back.
    /// </summary>
    public bool StreamingStalled { get; init; }

    /// <summary>Its last promotion failed recently: it leaves the lease to another node for a while.</summary>
    public bool PromotionFailed { get; init; }

    /// <summary>The operator asked for a restart of this node's PostgreSQL (POST /restart) and it has not happened yet.</summary>
    public bool RestartRequested { get; init; }

    public bool PostgresRunning => Postmaster == PostmasterState.Running;
}
