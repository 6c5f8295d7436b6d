using System.Globalization;

namespace PgWarden.Core.Ha;

/// <summary>
/// A timeline history file (<c>0000000N.history</c>, PostgreSQL docs "Timelines"): for each ancestor
/// timeline of timeline N, the WAL position at which it was left. Used to tell whether a node's WAL
/// is a prefix of the leader's history (it can stream on) or has diverged (it needs pg_rewind).
/// </summary>
public sealed class TimelineHistory
{
    private readonly Dictionary<long, long> _switchPoints;

    private TimelineHistory(long timeline, Dictionary<long, long> switchPoints)
    {
        Timeline = timeline;
        _switchPoints = switchPoints;
    }

    /// <summary>The timeline this history leads to.</summary>
    public long Timeline { get; }

    /// <summary>The history of a first timeline (no ancestors).</summary>
    public static TimelineHistory Initial(long timeline) => new(timeline, []);

    /// <summary>Parses the file's lines "parentTLI  switchpoint  reason" (comments and blank lines skipped).</summary>
    public static TimelineHistory Parse(long timeline, string content)
    {
        var points = new Dictionary<long, long>();
        foreach (var raw in content.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var fields = line.Split(['\t', ' '], 3, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
            {
                throw new FormatException($"timeline history of timeline {timeline}: cannot read the line \"{line}\"");
            }
            points[parent] = Lsn.Parse(fields[1]);
        }
        return new TimelineHistory(timeline, points);
    }

    /// <summary>True when WAL position <paramref name="position"/> (bytes) of timeline <paramref name="timeline"/> lies on the way to this timeline (a backup or a node there can be followed to it).</summary>
    public bool Includes(long timeline, long position) => !HasDiverged(timeline, position);

    /// <summary>Where <paramref name="ancestor"/> was left on the way to this timeline; null if it is not an ancestor.</summary>
    public long? SwitchPoint(long ancestor) => _switchPoints.TryGetValue(ancestor, out var lsn) ? lsn : null;

    /// <summary>
    /// Whether WAL on <paramref name="timeline"/> up to <paramref name="position"/> (bytes) has left
    /// this history: a timeline that is neither this one nor an ancestor, or WAL past the point where
    /// the ancestor was left. Such a node cannot stream from a server on this timeline (PostgreSQL:
    /// "new timeline N forked off current database system timeline M before current recovery point").
    /// </summary>
    public bool HasDiverged(long timeline, long position)
    {
        if (timeline == Timeline)
        {
            return false;
        }
        return SwitchPoint(timeline) is not { } left || position > left;
    }
}
