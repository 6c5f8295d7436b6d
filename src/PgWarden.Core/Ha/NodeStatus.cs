namespace PgWarden.Core.Ha;

/// <summary>What an agent reports about its node (GET /node). LSNs are PostgreSQL's text form.</summary>
public sealed record NodeStatus(
    string Name,
    NodeRole Role,
    string State,
    bool PostgresRunning,
    long? Timeline,
    string? CurrentLsn,
    string? ReceiveLsn,
    string? ReplayLsn,
    double? ReplayLagSeconds,
    string? Upstream,
    string? SystemIdentifier,
    string? LastDecision,
    IReadOnlyList<ReplicaStatus> Replicas,
    IReadOnlyList<SlotStatus> Slots)
{
    /// <summary>pg_stat_wal_receiver.status on a replica ("streaming" when healthy).</summary>
    public string? WalReceiver { get; init; }

    /// <summary>The leader lease holder as this agent last read it from the DCS.</summary>
    public string? Leader { get; init; }

    /// <summary>Automatic failover is paused (DCS config).</summary>
    public bool Paused { get; init; }

    /// <summary>When this node's lease can expire at the earliest (null: it holds none).</summary>
    public DateTimeOffset? LeaseExpiresAt { get; init; }

    /// <summary>On a primary whose WAL archiving fails right now: which file, since when (null: archiving works or is off).</summary>
    public string? ArchiveFailure { get; init; }

    /// <summary>The last DCS error this agent saw, if the DCS is unreachable.</summary>
    public string? DcsError { get; init; }

    /// <summary>The hot-standby settings the running server uses (max_connections and the others), null when not running.</summary>
    public HotStandbySettings? RunningSettings { get; init; }

    /// <summary>The long action running beside the HA loop (cloning, rejoining, handing over …), if any.</summary>
    public string? Action { get; init; }

    /// <summary>Data directories set aside by re-clones and kept (at most the newest one), and their size in bytes.</summary>
    public int AsideCopies { get; init; }

    public long AsideBytes { get; init; }

    /// <summary>The dynamic settings the cluster runs with (from the DCS): ttl, loop_wait, maximum_lag_on_failover, synchronous_mode, paused.</summary>
    public Dcs.DcsConfig? EffectiveDcsConfig { get; init; }

    /// <summary>Parameters the running server waits to restart for (pg_settings.pending_restart).</summary>
    public IReadOnlyList<string> PendingRestart { get; init; } = [];

    /// <summary>Configuration lines the running server rejected at its last reload (pg_file_settings.error).</summary>
    public IReadOnlyList<string> ConfigErrors { get; init; } = [];

    /// <summary>A switchover scheduled for later (`switchover --at`), as this agent last read it from the DCS.</summary>
    public Dcs.FailoverRequest? ScheduledSwitchover { get; init; }

    public bool IsStreamingReplica => Role == NodeRole.Replica && PostgresRunning && WalReceiver == "streaming";
}

/// <summary>A row of pg_stat_replication, as the runbook's "Verify Replication" query reads it.</summary>
public sealed record ReplicaStatus(
    string ApplicationName,
    string? ClientAddress,
    string State,
    string SyncState,
    long PendingBytes,
    long WriteLagBytes,
    long FlushLagBytes,
    long ReplayLagBytes,
    double? ReplayLagSeconds);

public sealed record SlotStatus(string Name, bool Active, string? RestartLsn, long? RetainedBytes);
