using PgWarden.Core.Ha;

namespace PgWarden.Cli.Runtime;

/// <summary>`pgwarden status`: every node, every pooler, and the verdict with its reasons.</summary>
public sealed record ClusterReport(
    string Cluster,
    string Health,
    IReadOnlyList<string> Problems,
    string? Primary,
    string? Leader,
    bool Paused,
    double? LeaseRemainingSeconds,
    IReadOnlyList<NodeReport> Nodes,
    IReadOnlyList<PoolerReport> Poolers)
{
    /// <summary>
    /// The cluster serves: one primary, every other node a streaming replica, every PgBouncer routing
    /// both ways and not paused — whatever else `status` lists (a paused failover, a setting to apply).
    /// </summary>
    public bool Serving =>
        Primary is not null
        && Nodes.All(n => n.Name == Primary || n is { Role: NodeRole.Replica, WalReceiver: "streaming" })
        && Poolers.All(p => p is { Reachable: true, WriteRouteWorks: true, ReadRouteWorks: true } && p.Paused != true);

    /// <summary>The dynamic settings the cluster runs with (from the DCS, through the agents); null when no agent could say.</summary>
    public Core.Dcs.DcsConfig? Settings { get; init; }

    /// <summary>A switchover scheduled for later (`switchover --at`), null when none.</summary>
    public Core.Dcs.FailoverRequest? ScheduledSwitchover { get; init; }

    /// <summary>The last scheduled backup of each kind, as recorded in the DCS (empty without a backup section).</summary>
    public IReadOnlyList<Core.Dcs.ScheduledBackupRun> ScheduledBackups { get; init; } = [];
}

public sealed record NodeReport(
    string Name,
    string Address,
    int Port,
    bool AgentReachable,
    NodeRole Role,
    string State,
    long? Timeline,
    string? CurrentLsn,
    string? ReceiveLsn,
    string? ReplayLsn,
    long? LagBytes,
    double? LagSeconds,
    string? WalReceiver,
    string? Upstream,
    string? SlotName,
    bool? SlotActive)
{
    /// <summary>Data directories set aside by re-clones (the newest is kept) and their size in bytes.</summary>
    public int AsideCopies { get; init; }

    public long AsideBytes { get; init; }

    /// <summary>The long action the node's agent runs now (cloning, rejoining, handing over …), if any.</summary>
    public string? Action { get; init; }

    /// <summary>Parameters waiting for a restart of this node (`pgwarden restart`), by name.</summary>
    public IReadOnlyList<string> PendingRestart { get; init; } = [];
}

public sealed record PoolerReport(string Name, string Address, int Port, bool Reachable, bool? WriteRouteWorks, bool? ReadRouteWorks, string? Error)
{
    /// <summary>The app database is PAUSEd in this PgBouncer (new transactions wait); null when not checked.</summary>
    public bool? Paused { get; init; }
}
