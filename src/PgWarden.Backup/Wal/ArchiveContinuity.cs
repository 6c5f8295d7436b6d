namespace PgWarden.Backup.Wal;

/// <summary>A hole in the archived WAL: <see cref="Missing"/> (and <see cref="MissingCount"/> in all) is not archived while <see cref="LastArchived"/>, later on the same history, is.</summary>
public sealed record WalGap(string Missing, int MissingCount, string LastArchived)
{
    public string Describe() =>
        $"archived WAL file {Missing} is missing{(MissingCount > 1 ? $" (and {MissingCount - 1} more)" : "")} although the archive holds WAL after it on the same history, up to {LastArchived}";
}

/// <summary>
/// Whether the archived WAL along a timeline path is continuous, as a pure function of the archive's file
/// names: recovery reads segment after segment and ends at the first one missing, so a missing segment
/// with archived WAL after it silently cuts off everything committed later.
/// </summary>
public static class ArchiveContinuity
{
    /// <summary>
    /// The first hole on <paramref name="path"/> from <paramref name="fromTimeline"/> at <paramref name="fromPosition"/>
    /// (a backup's start) to the newest archived segment of the path; with <paramref name="until"/>, only holes
    /// recovery to that position crosses. Null when there is none.
    /// </summary>
    public static WalGap? FindGap(TimelinePath path, uint fromTimeline, long fromPosition, IEnumerable<string> archivedNames, long? until = null)
    {
        var (needed, archived) = Walk(path, fromTimeline, fromPosition, archivedNames);
        var last = needed.FindLastIndex(archived.Contains);
        var limit = until is { } u ? (ulong)u / (ulong)WalFileName.DefaultSegmentSize : ulong.MaxValue;
        var missing = needed.Take(Math.Max(0, last)).Where(n => !archived.Contains(n) && n.Segment <= limit).ToList();
        return missing.Count == 0 ? null
            : new WalGap(WalFileName.SegmentNameOf(missing[0].Timeline, missing[0].Segment), missing.Count, WalFileName.SegmentNameOf(needed[last].Timeline, needed[last].Segment));
    }

    /// <summary>The newest archived segment on <paramref name="path"/> after <paramref name="fromTimeline"/>/<paramref name="fromPosition"/>; null when none is.</summary>
    public static (uint Timeline, ulong Segment)? LastArchived(TimelinePath path, uint fromTimeline, long fromPosition, IEnumerable<string> archivedNames)
    {
        var (needed, archived) = Walk(path, fromTimeline, fromPosition, archivedNames);
        var last = needed.FindLastIndex(archived.Contains);
        return last < 0 ? null : needed[last];
    }

    /// <summary>The segments recovery reads along the path up to the newest archived one of the target timeline, and the archived segments.</summary>
    private static (List<(uint Timeline, ulong Segment)> Needed, HashSet<(uint Timeline, ulong Segment)> Archived) Walk(TimelinePath path, uint fromTimeline, long fromPosition, IEnumerable<string> archivedNames)
    {
        var archived = archivedNames.Select(WalFileName.TryParse).OfType<WalFileName>().Where(n => n.Kind == WalFileKind.Segment)
            .Select(n => (n.Timeline, Segment: n.SegmentNumber())).ToHashSet();
        var onTarget = archived.Where(a => a.Timeline == path.Target).Select(a => (long)a.Segment).DefaultIfEmpty(-1).Max();
        return (path.Segments(fromTimeline, fromPosition, onTarget).ToList(), archived);
    }
}
