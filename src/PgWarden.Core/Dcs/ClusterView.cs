using System.Collections.Immutable;

namespace PgWarden.Core.Dcs;

/// <summary>One consistent read of the cluster's keys in the DCS.</summary>
public sealed record ClusterView(
    LeaderInfo? Leader,
    ImmutableDictionary<string, MemberInfo> Members,
    DcsConfig Config,
    string? Initialize,
    FailoverRequest? Failover,
    ImmutableArray<TimelineHistoryEntry> History,
    string? SyncStandby)
{
    /// <summary>The last WAL position (bytes) and timeline the leader recorded; it outlives the leader's lease.</summary>
    public LeaderOptime? Optime { get; init; }

    /// <summary>The last scheduled backup of each kind (logical, physical), whichever node ran it.</summary>
    public ImmutableDictionary<string, ScheduledBackupRun> ScheduledBackups { get; init; } = ImmutableDictionary<string, ScheduledBackupRun>.Empty;
}
