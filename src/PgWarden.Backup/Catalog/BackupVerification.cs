namespace PgWarden.Backup.Catalog;

/// <summary>The outcome of the last `backup verify` (recorded next to the manifest).</summary>
public sealed record BackupVerification(DateTimeOffset Time, bool Ok, bool RestoreTested, string Detail);
