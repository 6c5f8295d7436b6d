using PgWarden.Backup.Wal;

namespace PgWarden.Backup.Catalog;

/// <summary>
/// Decides what prune may delete, as a pure function. A backup is kept when it is younger than
/// <c>keepDays</c> or among the newest <c>keepCount</c> of its kind — physical, or logical of one
/// database (each database keeps its own newest dumps) — either rule keeps it; the newest physical
/// backup is always kept. WAL is removed only when its segment is before the start
/// segment of the oldest kept physical backup of the same system; timeline history files are always
/// kept (they are tiny and recovery needs them to follow timelines).
/// </summary>
public static class RetentionPlanner
{
    public static RetentionPlan Plan(IReadOnlyList<BackupManifest> backups, IReadOnlyList<string> walNames, string systemId, DateTimeOffset now, int? keepDays, int? keepCount)
    {
        var kept = new HashSet<string>();
        foreach (var group in backups.GroupBy(b => b.Type == "logical" ? $"logical:{b.Database}" : b.Type))
        {
            var newestFirst = group.OrderByDescending(b => b.StartTime).ToList();
            for (var i = 0; i < newestFirst.Count; i++)
            {
                var b = newestFirst[i];
                var young = keepDays is { } d && b.StartTime >= now.AddDays(-d);
                var recent = keepCount is { } c && i < c;
                if (young || recent || (b.Type == "physical" && i == 0))
                {
                    kept.Add(b.Id);
                }
            }
        }
        var keptList = backups.Where(b => kept.Contains(b.Id)).ToList();
        var expired = backups.Where(b => !kept.Contains(b.Id)).ToList();
        var oldestPhysical = keptList.Where(b => b.Type == "physical" && b.SystemId == systemId && b.StartWal is not null)
            .OrderBy(b => WalFileName.TryParse(b.StartWal!)!.SegmentNumber()).FirstOrDefault();
        var expiredWal = new List<string>();
        if (oldestPhysical is not null)
        {
            var threshold = WalFileName.TryParse(oldestPhysical.StartWal!)!.SegmentNumber();
            foreach (var name in walNames)
            {
                var parsed = WalFileName.TryParse(name);
                if (parsed is null || parsed.Kind == WalFileKind.History)
                {
                    continue;
                }
                if (parsed.SegmentNumber() < threshold)
                {
                    expiredWal.Add(name);
                }
            }
        }
        return new RetentionPlan(keptList, expired, expiredWal, oldestPhysical?.StartWal);
    }
}
