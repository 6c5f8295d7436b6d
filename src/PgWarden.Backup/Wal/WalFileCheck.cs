using System.Globalization;
using System.Text;
using PgWarden.Core.Ha;

namespace PgWarden.Backup.Wal;

/// <summary>
/// Whether bytes can be the WAL file they are named after, as a pure function: what wal-push refuses to
/// archive and wal-fetch refuses to serve. A segment (or .partial) has the segment size its long page header
/// names — the one PgWarden's archive uses — and that header names this database system, the segment's own
/// address and a timeline no newer than the file name's (the first page of a new timeline's first segment
/// still carries its parent's). A history file parses as PostgreSQL writes it: one line per ancestor,
/// ancestors in increasing order and older than the timeline, switch points never going back.
/// </summary>
public static class WalFileCheck
{
    /// <summary>Null when <paramref name="content"/> can be <paramref name="name"/> of system <paramref name="systemId"/>; else why not.</summary>
    public static string? Problem(WalFileName name, ReadOnlySpan<byte> content, string systemId) => name.Kind switch
    {
        WalFileKind.Segment or WalFileKind.Partial => SegmentProblem(name, content, systemId),
        WalFileKind.History => HistoryProblem(name.Timeline, content),
        _ => content.IndexOf((byte)0) >= 0 ? "a backup history file is text, but this one holds NUL bytes" : null,
    };

    private static string? SegmentProblem(WalFileName name, ReadOnlySpan<byte> content, string systemId)
    {
        if (WalHeader.TryParse(content) is not { } header)
        {
            return "it does not start with a WAL long page header";
        }
        if (header.SystemIdentifier.ToString(CultureInfo.InvariantCulture) != systemId)
        {
            return $"it belongs to database system {header.SystemIdentifier}, not {systemId}";
        }
        if (header.SegmentSize != WalFileName.DefaultSegmentSize)
        {
            return $"its header names a WAL segment size of {header.SegmentSize} bytes; this archive holds {WalFileName.DefaultSegmentSize}-byte segments";
        }
        if (content.Length != header.SegmentSize)
        {
            return $"it is {content.Length} bytes long, not a whole {header.SegmentSize}-byte segment (truncated or padded)";
        }
        var expected = name.SegmentNumber(header.SegmentSize) * header.SegmentSize;
        if (header.PageAddress != expected)
        {
            return $"it holds the WAL at {Lsn.Format((long)header.PageAddress)} (segment {WalFileName.SegmentName(name.Timeline, header.PageAddress)}), not at {Lsn.Format((long)expected)}";
        }
        if (header.Timeline == 0 || header.Timeline > name.Timeline)
        {
            return $"its first page is WAL of timeline {header.Timeline}, not of timeline {name.Timeline} or an earlier one";
        }
        return null;
    }

    /// <summary>Null when <paramref name="content"/> is a well-formed history file of <paramref name="timeline"/>.</summary>
    public static string? HistoryProblem(uint timeline, ReadOnlySpan<byte> content)
    {
        if (timeline < 2)
        {
            return "timeline 1 has no history file (it has no parent)";
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(content);
        }
        catch (DecoderFallbackException)
        {
            return "it is not text";
        }
        var entries = 0;
        var lastParent = 0L;
        var lastPoint = 0L;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var fields = line.Split(['\t', ' '], 3, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) || !TryLsn(fields[1], out var point))
            {
                return $"cannot read the line \"{Shorten(line)}\" (expected: parent timeline, switch point X/Y, reason)";
            }
            if (parent <= lastParent || parent >= timeline)
            {
                return $"its ancestors must be older than timeline {timeline} and in increasing order, but the line \"{Shorten(line)}\" names timeline {parent}";
            }
            if (point < lastPoint)
            {
                return $"the switch point {fields[1]} of timeline {parent} lies before the one of an earlier ancestor ({Lsn.Format(lastPoint)}): no recovery writes such a history";
            }
            lastParent = parent;
            lastPoint = point;
            entries++;
        }
        return entries == 0 ? "it names no parent timeline" : null;
    }

    private static bool TryLsn(string text, out long lsn)
    {
        try
        {
            lsn = Lsn.Parse(text);
            return true;
        }
        catch (FormatException)
        {
            lsn = 0;
            return false;
        }
    }

    private static string Shorten(string line) => line.Length <= 60 ? line : line[..57] + "…";
}
