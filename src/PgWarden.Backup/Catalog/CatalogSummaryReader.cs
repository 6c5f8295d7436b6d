using PgWarden.Backup.Repository;
using PgWarden.Core.Backups;
using PgWarden.Backup.Wal;
using PgWarden.Core.Config;

namespace PgWarden.Backup.Catalog;

/// <summary>Builds the checklist's <see cref="BackupCatalogSummary"/> from a cluster's repository; never throws for an unreadable repository.</summary>
public static class CatalogSummaryReader
{
    /// <summary>Null when the cluster has no <c>backup:</c> section.</summary>
    public static async Task<BackupCatalogSummary?> ReadAsync(ClusterConfig cluster, CancellationToken ct)
    {
        if (cluster.Backup is not { } settings)
        {
            return null;
        }
        IBackupRepository? repository = null;
        var empty = new BackupCatalogSummary("(not opened)", null, null, null, null, null, settings.LogicalSchedule, settings.PhysicalSchedule);
        try
        {
            repository = RepositoryFactory.Open(cluster);
            var all = await new BackupCatalog(repository, cluster.Name).ListAsync(ct);
            var restoreTest = all.Select(m => m.Verified).Where(v => v is { RestoreTested: true }).MaxBy(v => v!.Time);
            return empty with
            {
                Repository = repository.Description,
                // The schedule dumps the app database: another database's dump does not stand in for it.
                NewestLogical = all.Where(m => m.Type == "logical" && m.Database == cluster.Database.Name).Select(m => (DateTimeOffset?)m.StartTime).Max(),
                NewestPhysical = all.Where(m => m.Type == "physical").Select(m => (DateTimeOffset?)m.StartTime).Max(),
                LastRestoreTest = restoreTest?.Time,
                LastRestoreTestOk = restoreTest?.Ok,
                LastRestoreTestDetail = restoreTest?.Detail,
                WalGap = await WalGapAsync(repository, cluster.Name, all, ct),
            };
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return empty with { Repository = repository?.Description ?? empty.Repository, Error = e.Message };
        }
        finally
        {
            (repository as IDisposable)?.Dispose();
        }
    }

    /// <summary>The first hole in the archived WAL from the oldest physical backup on the newest timeline's history onwards; null when there is none.</summary>
    private static async Task<string?> WalGapAsync(IBackupRepository repository, string cluster, IReadOnlyList<BackupManifest> all, CancellationToken ct)
    {
        var physical = all.Where(m => m.Type == "physical").ToList();
        if (physical.Count == 0)
        {
            return null;
        }
        var layout = new RepositoryLayout(cluster, physical[^1].SystemId);
        var timelines = await ArchivedTimelines.ReadAsync(repository, layout, ct);
        var path = TimelinePath.To(Math.Max(timelines.Newest, physical.Max(b => b.Timeline)), timelines);
        var oldest = physical.Where(b => b.SystemId == layout.SystemId && path.Includes(b.Timeline, b.StopPosition())).MinBy(b => b.StopPosition());
        if (oldest is null)
        {
            return null;
        }
        var names = (await repository.ListAsync(layout.WalPrefix, ct)).Select(o => layout.WalNameOf(o.Key)).OfType<string>();
        return ArchiveContinuity.FindGap(path, oldest.Timeline, oldest.StartPosition(), names)?.Describe();
    }
}
