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
}
