namespace PgWarden.Backup.Catalog;

/// <summary>
/// What prune removes: whole backups and archived WAL files (by name) that no kept physical backup needs.
/// <see cref="CurrentTimeline"/> is the timeline the archive's history leads to now; <see cref="OffHistory"/>
/// names the physical backups that cannot restore it (they lie on a branch a failover or a rebuild left).
/// </summary>
public sealed record RetentionPlan(
    IReadOnlyList<BackupManifest> KeptBackups,
    IReadOnlyList<BackupManifest> ExpiredBackups,
    IReadOnlyList<string> ExpiredWal,
    uint CurrentTimeline,
    IReadOnlySet<string> OffHistory);
