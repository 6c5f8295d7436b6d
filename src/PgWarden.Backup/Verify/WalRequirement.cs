using PgWarden.Backup.Catalog;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Verify;

/// <summary>
/// The archived WAL a physical backup needs, as a pure function of its manifest and the archive's
/// file names: every segment from its start to its stop segment on its timeline and, after a
/// failover (timeline 2 and later), that timeline's history file. Every other history file in the
/// archive is checked too when present (recovery past the backup follows them), but is not required.
/// </summary>
public sealed record WalRequirement(uint Timeline, IReadOnlyList<string> Segments, string? RequiredHistory, IReadOnlyList<string> OtherHistory)
{
    /// <summary>More segments than this between start and stop means the manifest is damaged, not a real backup.</summary>
    public const int MaxSegments = 1_000_000;

    /// <summary>Every file to check, history files first.</summary>
    public IEnumerable<string> Files => (RequiredHistory is null ? [] : new[] { RequiredHistory }).Concat(OtherHistory).Concat(Segments);

    public static WalRequirement Of(BackupManifest backup, IEnumerable<string> archivedNames, long segmentSize = WalFileName.DefaultSegmentSize)
    {
        var start = Segment(backup, backup.StartWal, "start");
        var stop = Segment(backup, backup.StopWal, "stop");
        if (start.Timeline != backup.Timeline || stop.Timeline != backup.Timeline)
        {
            throw Damaged(backup, $"its WAL range {backup.StartWal} … {backup.StopWal} is not on its timeline {backup.Timeline}");
        }
        var first = start.SegmentNumber(segmentSize);
        var last = stop.SegmentNumber(segmentSize);
        if (last < first || last - first >= MaxSegments)
        {
            throw Damaged(backup, $"its WAL range {backup.StartWal} … {backup.StopWal} is not a plausible range");
        }
        var segments = new List<string>();
        for (var seg = first; seg <= last; seg++)
        {
            segments.Add(WalFileName.SegmentNameOf(backup.Timeline, seg, segmentSize));
        }
        var required = backup.Timeline > 1 ? $"{backup.Timeline:X8}.history" : null;
        var otherHistory = archivedNames
            .Where(n => WalFileName.TryParse(n) is { Kind: WalFileKind.History } && n != required)
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        return new WalRequirement(backup.Timeline, segments, required, otherHistory);
    }

    private static WalFileName Segment(BackupManifest backup, string? name, string which) =>
        name is not null && WalFileName.TryParse(name) is { Kind: WalFileKind.Segment } parsed
            ? parsed
            : throw Damaged(backup, $"its {which} WAL segment is {(name is null ? "not recorded" : $"'{name}', not a segment name")}");

    private static PgWardenException Damaged(BackupManifest backup, string what) =>
        new(ExitCodes.OperationFailed, $"the manifest of physical backup {backup.Id} is damaged: {what}");
}
