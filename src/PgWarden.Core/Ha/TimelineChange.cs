using System.Globalization;
using PgWarden.Core.Dcs;

namespace PgWarden.Core.Ha;

/// <summary>
/// One timeline of the cluster as `pgwarden history` shows it: where it branched off its parent,
/// when and to whom the leadership went, and why — from the primary's timeline history file (the
/// branch points PostgreSQL recorded) and PgWarden's own record of promotions in the DCS (when,
/// who, why). Either source may lack a timeline (a history file of a restored cluster, a promotion
/// made before the DCS history existed): what one source lacks stays empty.
/// </summary>
/// <param name="Parent">The timeline it branched off (null for the first).</param>
/// <param name="SwitchLsn">Where the parent timeline was left (bytes; null when unknown).</param>
public sealed record TimelineChange(long Timeline, long? Parent, long? SwitchLsn, DateTimeOffset? At, string? Leader, string Reason)
{
    /// <summary>
    /// Merges the history file of the newest timeline (<paramref name="historyFile"/>: lines "parentTLI
    /// switchpoint reason"; null for timeline 1) with the DCS record, oldest first, ending at
    /// <paramref name="currentTimeline"/>.
    /// </summary>
    public static IReadOnlyList<TimelineChange> Merge(long currentTimeline, string? historyFile, IEnumerable<TimelineHistoryEntry> recorded)
    {
        var byTimeline = new SortedDictionary<long, TimelineChange>();
        var lines = (historyFile ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        for (var i = 0; i < lines.Count; i++)
        {
            var parts = lines[i].Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) || !TryParseLsn(parts[1], out var lsn))
            {
                continue;
            }
            // The line for parent P says where P was left; the child is the next line's parent, or the current timeline.
            var child = i + 1 < lines.Count && long.TryParse(lines[i + 1].Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0], out var next) ? next : currentTimeline;
            byTimeline[child] = new TimelineChange(child, parent, lsn, null, null, parts.Length > 2 ? parts[2].Trim() : "");
        }
        foreach (var e in recorded)
        {
            byTimeline[e.Timeline] = byTimeline.TryGetValue(e.Timeline, out var fromFile)
                ? fromFile with { At = e.At, Leader = e.NewLeader, Reason = e.Reason, SwitchLsn = fromFile.SwitchLsn ?? e.SwitchLsn }
                : new TimelineChange(e.Timeline, null, e.SwitchLsn, e.At, e.NewLeader, e.Reason);
        }
        byTimeline.TryAdd(1, new TimelineChange(1, null, null, null, null, "initdb (the cluster's first timeline)"));
        return [.. byTimeline.Values.Where(c => c.Timeline <= currentTimeline)];
    }

    private static bool TryParseLsn(string text, out long lsn)
    {
        lsn = 0;
        var slash = text.IndexOf('/');
        if (slash <= 0
            || !long.TryParse(text[..slash], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hi)
            || !long.TryParse(text[(slash + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var lo))
        {
            return false;
        }
        lsn = (hi << 32) | lo;
        return true;
    }
}
