using PgWarden.Core.Ha;

namespace PgWarden.Backup.Wal;

/// <summary>
/// The WAL history that leads to one timeline, read from its history file: the ancestors in order, each
/// with the position where it was left, then the timeline itself (open-ended). Positions are compared
/// only along this path — the same segment number on two timelines is two different pieces of WAL.
/// </summary>
public sealed class TimelinePath
{
    /// <summary>One timeline of the path and where the path leaves it (null: the last one, not left).</summary>
    public sealed record Step(uint Timeline, long? LeftAt);

    private TimelinePath(uint target, IReadOnlyList<Step> steps)
    {
        Target = target;
        Steps = steps;
    }

    /// <summary>The timeline the path leads to.</summary>
    public uint Target { get; }

    /// <summary>Oldest first; the last is <see cref="Target"/>.</summary>
    public IReadOnlyList<Step> Steps { get; }

    /// <summary>The path to <paramref name="target"/> after its history; without one (timeline 1, or an unknown ancestry) the timeline alone.</summary>
    public static TimelinePath To(uint target, TimelineHistory? history)
    {
        var steps = new List<Step>();
        for (var t = 1u; t < target && history is not null; t++)
        {
            if (history.SwitchPoint(t) is { } left)
            {
                steps.Add(new Step(t, left));
            }
        }
        steps.Add(new Step(target, null));
        return new TimelinePath(target, steps);
    }

    public static TimelinePath To(uint target, ArchivedTimelines timelines) => To(target, timelines.Histories.GetValueOrDefault(target));

    /// <summary>True when WAL of <paramref name="timeline"/> up to <paramref name="position"/> lies on the path (a backup ending there can be followed to <see cref="Target"/>).</summary>
    public bool Includes(uint timeline, long position) =>
        Steps.FirstOrDefault(s => s.Timeline == timeline) is { } step && (step.LeftAt is not { } left || position <= left);

    /// <summary>
    /// The timeline of the path that holds the WAL at <paramref name="position"/>: the first one left after it.
    /// A position exactly at a switch point belongs to the next timeline (its records start there).
    /// </summary>
    public uint TimelineAt(long position) => Steps.First(s => s.LeftAt is not { } left || position < left).Timeline;

    /// <summary>Where the path leaves <paramref name="timeline"/>; null for the target or a timeline not on the path.</summary>
    public long? LeftAt(uint timeline) => Steps.FirstOrDefault(s => s.Timeline == timeline)?.LeftAt;

    /// <summary>
    /// The segment files recovery reads along the path from <paramref name="fromTimeline"/> at <paramref name="fromPosition"/>
    /// up to segment <paramref name="lastSegmentOfTarget"/> of the target (-1: none of it), in order. Recovery reads each segment from
    /// the newest timeline of the path that has begun by then: the segment holding a switch point is the next
    /// timeline's file (it starts with the parent's WAL up to the switch point).
    /// </summary>
    public IEnumerable<(uint Timeline, ulong Segment)> Segments(uint fromTimeline, long fromPosition, long lastSegmentOfTarget, long segmentSize = WalFileName.DefaultSegmentSize)
    {
        var started = false;
        ulong next = 0;
        foreach (var step in Steps)
        {
            if (!started)
            {
                if (step.Timeline != fromTimeline)
                {
                    continue;
                }
                started = true;
                next = (ulong)fromPosition / (ulong)segmentSize;
            }
            var last = step.LeftAt is { } left ? (long)((ulong)left / (ulong)segmentSize) - 1 : lastSegmentOfTarget;
            for (var s = next; (long)s <= last; s++)
            {
                yield return (step.Timeline, s);
            }
            if (step.LeftAt is { } l)
            {
                next = Math.Max(next, (ulong)l / (ulong)segmentSize);
            }
        }
    }
}
