using PgWarden.Backup.Wal;

namespace PgWarden.Backup.Catalog;

/// <summary>
/// Decides what prune may delete, as a pure function of the catalog, the archive's file names and its
/// timeline histories.
/// <para>Physical backups: "newest" means furthest along the history of the current timeline (the newest
/// archived one): only a backup on that history can restore the cluster as it runs now — one on a branch a
/// failover or a rebuild abandoned cannot, however recent. The newest <c>keepCount</c> of those are kept and
/// the newest of them always; a backup younger than <c>keepDays</c> is kept wherever it lies. (When no backup
/// lies on the current history, the newest by time stand in.)</para>
/// <para>Logical backups: per database, the newest <c>keepCount</c>, those younger than <c>keepDays</c>, and
/// always the newest dump of each database.</para>
/// <para>WAL: a file is removed only when no kept physical backup can need it, compared per timeline: of
/// a kept backup's own timeline, everything from its start segment; of any timeline whose history passes
/// through the backup (its descendants, which recovery from it can follow), everything. Files of a timeline
/// with no history file whose relation cannot be known are kept, and timeline history files always are.</para>
/// </summary>
public static class RetentionPlanner
{
    public static RetentionPlan Plan(IReadOnlyList<BackupManifest> backups, IReadOnlyList<string> walNames, ArchivedTimelines timelines, DateTimeOffset now, int? keepDays, int? keepCount)
    {
        var physical = backups.Where(b => b.Type == "physical").ToList();
        var current = Math.Max(timelines.Newest, physical.Count == 0 ? 1 : physical.Max(b => b.Timeline));
        var path = TimelinePath.To(current, timelines);
        var onHistory = physical.Where(b => path.Includes(b.Timeline, b.StopPosition())).ToList();
        var offHistory = physical.Except(onHistory).Select(b => b.Id).ToHashSet(StringComparer.Ordinal);

        var kept = new HashSet<string>(StringComparer.Ordinal);
        bool Young(BackupManifest b) => keepDays is { } d && b.StartTime >= now.AddDays(-d);
        void KeepNewest(IEnumerable<BackupManifest> newestFirst)
        {
            var i = 0;
            foreach (var b in newestFirst)
            {
                if (i == 0 || (keepCount is { } c && i < c))
                {
                    kept.Add(b.Id);
                }
                i++;
            }
        }
        KeepNewest(onHistory.Count > 0
            ? onHistory.OrderByDescending(b => b.StopPosition()).ThenByDescending(b => b.StartTime)
            : physical.OrderByDescending(b => b.StartTime));
        foreach (var group in backups.Where(b => b.Type == "logical").GroupBy(b => b.Database))
        {
            KeepNewest(group.OrderByDescending(b => b.StartTime));
        }
        kept.UnionWith(backups.Where(Young).Select(b => b.Id));

        var keptList = backups.Where(b => kept.Contains(b.Id)).ToList();
        var expired = backups.Where(b => !kept.Contains(b.Id)).ToList();
        var keptPhysical = keptList.Where(b => b.Type == "physical" && b.StartWal is not null).ToList();
        var expiredWal = keptPhysical.Count == 0 ? [] : walNames.Where(n => !Needed(n, keptPhysical, timelines)).ToList();
        return new RetentionPlan(keptList, expired, expiredWal, current, offHistory);
    }

    /// <summary>Whether archived file <paramref name="name"/> may be read by a recovery from one of <paramref name="kept"/>.</summary>
    private static bool Needed(string name, IReadOnlyList<BackupManifest> kept, ArchivedTimelines timelines)
    {
        if (WalFileName.TryParse(name) is not { Kind: not WalFileKind.History } parsed)
        {
            return true;
        }
        if (parsed.Timeline > 1 && !timelines.Histories.ContainsKey(parsed.Timeline) && kept.All(b => b.Timeline != parsed.Timeline))
        {
            return true;
        }
        var path = TimelinePath.To(parsed.Timeline, timelines);
        return kept.Any(b => b.Timeline == parsed.Timeline
            ? parsed.SegmentNumber() >= WalFileName.TryParse(b.StartWal!)!.SegmentNumber()
            : path.Includes(b.Timeline, b.StopPosition()));
    }
}
