namespace PgWarden.Core.Config;

/// <summary>
/// The <c>backup:</c> section: where backups and archived WAL go, how long they are kept and when
/// the agent on the primary takes them.
/// </summary>
public sealed record BackupSettings(
    RepositoryKind Repository,
    string? Path,
    S3Settings? S3,
    int RetentionDays,
    int? RetentionCount,
    string LogicalSchedule,
    string PhysicalSchedule,
    int ArchiveTimeoutSeconds)
{
    /// <summary>When the leader restore-tests the newest physical backup (the runbook's weekly "test backup restoration").</summary>
    public string VerifySchedule { get; init; } = "0 5 * * 0";

    /// <summary>How stored files are encrypted (see docs/backup-encryption.md); the default key file when the section is absent.</summary>
    public BackupEncryptionSettings Encryption { get; init; } = new(BackupEncryptionMode.None, null);
}
