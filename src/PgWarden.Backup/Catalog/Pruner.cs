using PgWarden.Backup.Repository;

namespace PgWarden.Backup.Catalog;

/// <summary>
/// `backup prune`: applies <see cref="RetentionPlanner"/> to every database system in the repository
/// and removes incomplete backups that are not running (files without a manifest, left by a failed or
/// killed backup). A backup's manifest is deleted first, so a half-deleted backup is never used.
/// With <c>dryRun</c> nothing is deleted and the same lines say "would remove".
/// </summary>
public sealed class Pruner(IBackupRepository repository, BackupCatalog catalog, string cluster, Action<string> output)
{
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
            var plan = RetentionPlanner.Plan(all.Where(b => b.SystemId == systemId).ToList(), walNames, systemId, DateTimeOffset.UtcNow, keepDays, keepCount);
            foreach (var b in plan.ExpiredBackups)
            {
                output($"{verb} {b.Type} backup {b.Id}{(b.Database is { } db ? $" of {db}" : "")} (started {b.StartTime:yyyy-MM-dd HH:mm}Z)");
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
            output($"{verb} {plan.ExpiredWal.Count} archived WAL files of system {systemId} before {plan.OldestNeededWal ?? "(no kept physical backup: WAL kept)"}"
                   + (plan.ExpiredWal.Count > 0 ? $" ({plan.ExpiredWal[0]} … {plan.ExpiredWal[^1]})" : "") + $"; kept {plan.KeptBackups.Count} backups");
        }
        return deleted;
    }
}
