namespace PgWarden.Backup.Catalog;

/// <summary>What prune removes: whole backups and archived WAL files (by name) older than every kept physical backup.</summary>
public sealed record RetentionPlan(IReadOnlyList<BackupManifest> KeptBackups, IReadOnlyList<BackupManifest> ExpiredBackups, IReadOnlyList<string> ExpiredWal, string? OldestNeededWal);
