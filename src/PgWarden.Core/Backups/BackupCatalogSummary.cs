namespace PgWarden.Core.Backups;

/// <summary>
/// What the maintenance checklist needs to know about the backup repository: the newest backup of
/// each type, the newest restore test, the schedules; or why the repository could not be read.
/// </summary>
public sealed record BackupCatalogSummary(
    string Repository,
    DateTimeOffset? NewestLogical,
    DateTimeOffset? NewestPhysical,
    DateTimeOffset? LastRestoreTest,
    bool? LastRestoreTestOk,
    string? LastRestoreTestDetail,
    string LogicalSchedule,
    string PhysicalSchedule)
{
    /// <summary>Set when listing the repository failed (unreachable, no permission…).</summary>
    public string? Error { get; init; }

    /// <summary>
    /// A hole in the archived WAL after the oldest physical backup on the current timeline's history (a segment
    /// missing while later ones are archived), described; null when the archive is continuous or there is no such backup.
    /// </summary>
    public string? WalGap { get; init; }

    /// <summary>When the cluster was created (from its system identifier); a schedule's slots before it were not missed. Null when unknown.</summary>
    public DateTimeOffset? ClusterCreated { get; init; }
}
