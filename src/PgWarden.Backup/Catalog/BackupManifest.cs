using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgWarden.Backup.Catalog;

/// <summary>
/// manifest.json of one backup, written last: a backup without a manifest is incomplete and
/// ignored. Holds the checksums of every data file, so verify and restore can refuse damage.
/// </summary>
public sealed record BackupManifest
{
    public required string Id { get; init; }
    /// <summary>physical or logical.</summary>
    public required string Type { get; init; }
    public required string Cluster { get; init; }
    public required string SystemId { get; init; }
    public required string SourceNode { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public required DateTimeOffset StopTime { get; init; }
    public double DurationSeconds => (StopTime - StartTime).TotalSeconds;
    public int PgVersion { get; init; }
    public uint Timeline { get; init; }
    public string? StartLsn { get; init; }
    public string? StopLsn { get; init; }
    /// <summary>The first and last WAL segment the backup needs to be consistent.</summary>
    public string? StartWal { get; init; }
    public string? StopWal { get; init; }
    public string? BackupLabel { get; init; }
    /// <summary>Logical backups: database and pg_dump format (directory, custom, plain-gzip).</summary>
    public string? Database { get; init; }
    public string? Format { get; init; }
    public IReadOnlyList<BackupFile> Files { get; init; } = [];
    /// <summary>Physical backups: the tablespaces outside the data directory (each in its own file); empty when there are none.</summary>
    public IReadOnlyList<Physical.BackupTablespace> Tablespaces { get; init; } = [];
    public BackupVerification? Verified { get; init; }

    /// <summary>Where the backup's WAL starts (its start LSN; else the start of its start segment).</summary>
    public long StartPosition() => StartLsn is { } lsn ? Core.Ha.Lsn.Parse(lsn)
        : StartWal is { } wal && Wal.WalFileName.TryParse(wal) is { SegmentPart: not null } name ? (long)(name.SegmentNumber() * (ulong)Wal.WalFileName.DefaultSegmentSize) : 0;

    /// <summary>Where the backup is consistent (its stop LSN; else its start).</summary>
    public long StopPosition() => StopLsn is { } lsn ? Core.Ha.Lsn.Parse(lsn) : StartPosition();

    public long Size => Files.Sum(f => f.Size);
    public long StoredSize => Files.Sum(f => f.StoredSize);

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static BackupManifest Parse(string json) =>
        JsonSerializer.Deserialize<BackupManifest>(json, Json) ?? throw new JsonException("manifest is empty");
}
