using PgWarden.Backup.Catalog;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Backup.Physical;

/// <summary>
/// How a point-in-time recovery follows the archive's history, decided before anything is unpacked, as a pure
/// function of the backup, the target and the archive (file names and history files).
/// <para>PostgreSQL writes the promoted copy's history file by copying the history of
/// <c>recovery_target_timeline</c> and adding the point where recovery ended: recovering along a later
/// timeline to a point that lies on an earlier one writes a false history (claiming descent through
/// timelines the copy never saw), after which backups and restores follow the wrong branch. So recovery
/// follows the timeline the target lies on: the backup's for <c>immediate</c>; for an LSN, the timeline of
/// <see cref="Path"/> holding it; for the end of the archive, the newest; for a time, transaction or restore
/// point, which position they stand for is known only by replaying — <see cref="Timeline"/> is null and
/// recovery first pauses at the target along the newest timeline, then (when the position lies on an earlier
/// one) starts again along that one.</para>
/// <para>A hole in the archived WAL on the way — a segment missing while later ones are archived — is
/// refused up front wherever the target's position is known (the end of the archive, an LSN, immediate):
/// recovery would stop at the hole and report success.</para>
/// </summary>
public sealed record RecoveryPlan(TimelinePath Path, IReadOnlyList<string> ArchivedNames, uint? Timeline, IReadOnlyList<uint> ReservedTimelines)
{
    public static RecoveryPlan Decide(BackupManifest backup, RecoveryTarget target, ArchivedTimelines timelines, IReadOnlyList<string> archivedNames)
    {
        var newest = target.Timeline ?? Math.Max(timelines.Newest, backup.Timeline);
        var path = TimelinePath.To(newest, timelines);
        var start = backup.StartPosition();
        var stop = backup.StopPosition();
        if (!path.Includes(backup.Timeline, stop))
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"backup {backup.Id} (timeline {backup.Timeline}, up to {backup.StopLsn}) is not on the history of timeline {newest}"
                + (path.LeftAt(backup.Timeline) is { } left ? $": timeline {newest}'s history left timeline {backup.Timeline} at {Lsn.Format(left)}, before the backup ended" : "")
                + "; recovering from it would replay an abandoned branch (choose another backup)");
        }
        long? until = target.Lsn is { } l ? Lsn.Parse(l) : target.Immediate ? stop : null;
        if (target.Count == 0 || until is not null)
        {
            if (ArchiveContinuity.FindGap(path, backup.Timeline, start, archivedNames, until) is { } gap)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"cannot recover backup {backup.Id} to {target.Describe()}: {gap.Describe()}; recovery would stop at the hole and lose every transaction committed after it. "
                    + $"Put {gap.Missing} back into the archive, or restore to a target before it");
            }
        }
        uint? timeline = target.Immediate ? backup.Timeline
            : until is { } position ? path.TimelineAt(position)
            : target.Count == 0 || backup.Timeline == newest ? newest
            : null;
        var onPath = path.Steps.Select(s => s.Timeline).ToHashSet();
        return new RecoveryPlan(path, archivedNames, timeline, [.. timelines.WithoutHistory(backup.Timeline).Where(t => !onPath.Contains(t))]);
    }

    /// <summary>
    /// Whether <paramref name="written"/>, the history file a copy wrote when it was promoted to <paramref name="newTimeline"/>
    /// after recovering along <paramref name="followed"/>, tells the truth: the ancestors of <paramref name="followed"/> on
    /// <see cref="Path"/> with their switch points, then <paramref name="followed"/> itself, left no later than the path left it.
    /// Null when it does; else what is false.
    /// </summary>
    public string? HistoryProblem(TimelineHistory written, uint newTimeline, uint followed)
    {
        foreach (var step in Path.Steps.Where(s => s.Timeline < followed))
        {
            if (written.SwitchPoint(step.Timeline) != step.LeftAt)
            {
                return $"it says timeline {step.Timeline} was left at {Format(written.SwitchPoint(step.Timeline))}, the archive's history at {Format(step.LeftAt)}";
            }
        }
        if (written.SwitchPoint(followed) is not { } end)
        {
            return $"it does not name timeline {followed}, the one recovery followed";
        }
        if (Path.LeftAt(followed) is { } left && end > left)
        {
            return $"it leaves timeline {followed} at {Lsn.Format(end)}, after the archive's history left it at {Lsn.Format(left)}";
        }
        for (var t = 1u; t < newTimeline; t++)
        {
            if (t != followed && !Path.Steps.Any(s => s.Timeline == t && t < followed) && written.SwitchPoint(t) is { } other)
            {
                return $"it claims descent from timeline {t} (left at {Lsn.Format(other)}), which recovery never followed";
            }
        }
        return null;
    }

    /// <summary>
    /// After recovery to the end of the archive ended at <paramref name="end"/>: null when it replayed into the newest
    /// archived segment of the path; else what the archive still holds after the point where recovery stopped.
    /// </summary>
    public string? StoppedEarly(BackupManifest backup, long end)
    {
        var last = ArchiveContinuity.LastArchived(Path, backup.Timeline, backup.StartPosition(), ArchivedNames);
        return last is { } l && end <= (long)(l.Segment * (ulong)WalFileName.DefaultSegmentSize)
            ? $"recovery ended at {Lsn.Format(end)}, but the archive holds WAL on the same history up to {WalFileName.SegmentNameOf(l.Timeline, l.Segment)}: a file in between could not be read"
            : null;
    }

    private static string Format(long? lsn) => lsn is { } l ? Lsn.Format(l) : "(not at all)";
}
