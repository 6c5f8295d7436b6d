using PgWarden.Backup.Repository;
using PgWarden.Core.Backups;
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
}
