using PgWarden.Backup.Catalog;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// One backup in `backup list --json` (<c>data.backups</c>, oldest first, then incomplete ones). Every entry has
/// every key; a key that does not apply is null: <see cref="Timeline"/> and the LSNs for a logical backup,
/// <see cref="Database"/> and <see cref="Format"/> for a physical one, the times and sizes a backup without a
/// manifest does not have.
/// </summary>
/// <param name="Status">complete, running (a backup in progress) or incomplete (files without a manifest).</param>
/// <param name="Size">Bytes before compression; null for an incomplete backup.</param>
/// <param name="StoredSize">Bytes in the repository.</param>
/// <param name="Files">Number of stored files; null for a complete backup (see its manifest).</param>
public sealed record BackupListEntry(
    string Id,
    string Type,
    string Status,
    string SystemId,
    string? SourceNode,
    DateTimeOffset? StartTime,
    DateTimeOffset? StopTime,
    double? DurationSeconds,
    uint? Timeline,
    string? StartLsn,
    string? StopLsn,
    string? Database,
    string? Format,
    long? Size,
    long StoredSize,
    int? Files,
    DateTimeOffset? LastModified,
    BackupVerification? Verified)
{
    /// <summary>A complete backup, from its manifest.</summary>
    public static BackupListEntry From(BackupManifest m)
    {
        var physical = m.Type == "physical";
        return new(m.Id, m.Type, "complete", m.SystemId, m.SourceNode, m.StartTime, m.StopTime, Math.Round(m.DurationSeconds, 3),
            physical ? m.Timeline : null, physical ? m.StartLsn : null, physical ? m.StopLsn : null,
            physical ? null : m.Database, physical ? null : m.Format, m.Size, m.StoredSize, null, null, m.Verified);
    }

    /// <summary>A backup without a manifest: running, or left incomplete.</summary>
    public static BackupListEntry From(IncompleteBackup b) =>
        new(b.Id, b.Type, b.Running ? "running" : "incomplete", b.SystemId, null, null, null, null, null, null, null, null, null, null,
            b.StoredSize, b.Files, b.LastModified, null);
}
