using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;

namespace PgWarden.Backup.Catalog;

/// <summary>
/// `backup prune`: applies <see cref="RetentionPlanner"/> to every database system in the repository
/// (after its timeline histories) and removes incomplete backups that are not running (files without a
/// manifest, temp files and empty directories included, left by a failed or killed backup) and temp files
/// an interrupted wal-push left (older than a day). A backup's manifest is deleted first, so a half-deleted backup is never used.
/// With <c>dryRun</c> nothing is deleted and the same lines say "would remove".
/// </summary>
public sealed class Pruner(IBackupRepository repository, BackupCatalog catalog, string cluster, Action<string> output)
{
    /// <summary>A temp file under wal/ older than this is an interrupted push's, never one still being written.</summary>
    private static readonly TimeSpan StaleTempAge = TimeSpan.FromDays(1);

    /// <summary>Keys deleted (or that would be), for callers and tests.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(int? keepDays, int? keepCount, bool dryRun, CancellationToken ct)
    {
        var all = await catalog.ListAsync(ct);
        var incomplete = await catalog.ListIncompleteAsync(ct);
        var verb = dryRun ? "would remove" : "removed";
        var deleted = new List<string>();
        foreach (var b in incomplete)
        {
            if (b.Running)
            {
                output($"kept incomplete {b.Type} backup {b.Id}: it is still running");
                continue;
            }
            var prefix = new RepositoryLayout(cluster, b.SystemId).BackupPrefix(b.Id);
            output($"{verb} incomplete {b.Type} backup {b.Id} ({b.Files} file(s) without a manifest, last written {b.LastModified:yyyy-MM-dd HH:mm}Z)");
            deleted.Add(prefix);
            if (!dryRun)
            {
                await repository.DeletePrefixAsync(prefix, ct);
            }
        }
        foreach (var systemId in all.Select(b => b.SystemId).Distinct())
        {
            var layout = new RepositoryLayout(cluster, systemId);
            var walNames = (await repository.ListAsync(layout.WalPrefix, ct)).Select(o => layout.WalNameOf(o.Key)).OfType<string>().ToList();
            var timelines = await ArchivedTimelines.ReadAsync(repository, layout, ct);
            var plan = RetentionPlanner.Plan(all.Where(b => b.SystemId == systemId).ToList(), walNames, timelines, DateTimeOffset.UtcNow, keepDays, keepCount);
            foreach (var b in plan.ExpiredBackups)
            {
                output($"{verb} {b.Type} backup {b.Id}{(b.Database is { } db ? $" of {db}" : "")} (started {b.StartTime:yyyy-MM-dd HH:mm}Z"
                       + (plan.OffHistory.Contains(b.Id) ? $"; timeline {b.Timeline} up to {b.StopLsn} is not on the history of the current timeline {plan.CurrentTimeline}, so it cannot restore it" : "") + ")");
                deleted.Add(layout.ManifestKey(b.Id));
                if (!dryRun)
                {
                    await repository.DeleteAsync(layout.ManifestKey(b.Id), ct);
                    await repository.DeletePrefixAsync(layout.BackupPrefix(b.Id), ct);
                }
            }
            foreach (var name in plan.ExpiredWal)
            {
                deleted.Add(layout.WalKey(name));
                if (!dryRun)
                {
                    await repository.DeleteAsync(layout.WalKey(name), ct);
                }
            }
            var byTimeline = plan.ExpiredWal.GroupBy(n => n[..8], StringComparer.Ordinal).Select(g => $"{g.Min(StringComparer.Ordinal)} … {g.Max(StringComparer.Ordinal)}");
            output($"{verb} {plan.ExpiredWal.Count} archived WAL files of system {systemId}"
                   + (plan.ExpiredWal.Count > 0 ? $" ({string.Join(", ", byTimeline)})" : "")
                   + (plan.KeptBackups.Any(b => b.Type == "physical") ? $": none that a kept physical backup needs on its way to timeline {plan.CurrentTimeline}" : ": no kept physical backup, WAL kept")
                   + $"; timeline history files are kept; kept {plan.KeptBackups.Count} backups");
            foreach (var temp in await repository.ListUnfinishedAsync(layout.WalPrefix, ct))
            {
                if (!temp.Key.EndsWith('/') && DateTimeOffset.UtcNow - temp.LastModified > StaleTempAge)
                {
                    output($"{verb} {temp.Key} (a WAL file an interrupted wal-push left, last written {temp.LastModified:yyyy-MM-dd HH:mm}Z)");
                    deleted.Add(temp.Key);
                    if (!dryRun)
                    {
                        await repository.DeleteAsync(temp.Key, ct);
                    }
                }
            }
        }
        return deleted;
    }
}
