using System.Globalization;
using System.Text.RegularExpressions;

namespace PgWarden.Backup.Wal;

/// <summary>
/// A file PostgreSQL archives: a 24-hex-digit segment (timeline, log, seg), a <c>.partial</c>
/// segment (end of an old timeline after promotion), a <c>TTTTTTTT.history</c> timeline file or a
/// <c>SEGMENT.OFFSET.backup</c> backup history file.
/// </summary>
public sealed partial record WalFileName(string Name, WalFileKind Kind, uint Timeline)
{
    public const long DefaultSegmentSize = 16L * 1024 * 1024;

    [GeneratedRegex("^[0-9A-F]{24}$")]
    private static partial Regex SegmentPattern();

    [GeneratedRegex("^[0-9A-F]{24}\\.partial$")]
    private static partial Regex PartialPattern();

    [GeneratedRegex("^[0-9A-F]{8}\\.history$")]
    private static partial Regex HistoryPattern();

    [GeneratedRegex("^[0-9A-F]{24}\\.[0-9A-F]{8}\\.backup$")]
    private static partial Regex BackupPattern();

    public static WalFileName? TryParse(string name)
    {
        WalFileKind? kind = SegmentPattern().IsMatch(name) ? WalFileKind.Segment
            : PartialPattern().IsMatch(name) ? WalFileKind.Partial
            : HistoryPattern().IsMatch(name) ? WalFileKind.History
            : BackupPattern().IsMatch(name) ? WalFileKind.BackupHistory
            : null;
        return kind is null ? null : new WalFileName(name, kind.Value, uint.Parse(name[..8], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }

    /// <summary>Whether the file starts with a WAL page header (segments and partial segments).</summary>
    public bool HasPageHeader => Kind is WalFileKind.Segment or WalFileKind.Partial;

    /// <summary>The 24-digit segment part of a segment, partial or backup history name; null for history files.</summary>
    public string? SegmentPart => Kind == WalFileKind.History ? null : Name[..24];

    /// <summary>The segment number (log × segments-per-log + seg) of a segment-bearing name.</summary>
    public ulong SegmentNumber(long segmentSize = DefaultSegmentSize)
    {
        var part = SegmentPart ?? throw new InvalidOperationException($"{Name} is not a segment");
        var log = ulong.Parse(part[8..16], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var seg = ulong.Parse(part[16..24], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return log * SegmentsPerLog(segmentSize) + seg;
    }

    private static ulong SegmentsPerLog(long segmentSize) => 0x1_0000_0000UL / (ulong)segmentSize;

    /// <summary>The name of the segment holding <paramref name="lsn"/> on <paramref name="timeline"/> (XLogFileName).</summary>
    public static string SegmentName(uint timeline, ulong lsn, long segmentSize = DefaultSegmentSize) =>
        SegmentNameOf(timeline, lsn / (ulong)segmentSize, segmentSize);

    public static string SegmentNameOf(uint timeline, ulong segmentNumber, long segmentSize = DefaultSegmentSize)
    {
        var perLog = SegmentsPerLog(segmentSize);
        return $"{timeline:X8}{segmentNumber / perLog:X8}{segmentNumber % perLog:X8}";
    }
}
