namespace PgWarden.Backup.Catalog;

/// <summary>One stored file of a backup: its name in the backup, original and stored sizes, and both SHA-256s.</summary>
public sealed record BackupFile(string Name, long Size, long StoredSize, string Sha256, string ContentSha256);
