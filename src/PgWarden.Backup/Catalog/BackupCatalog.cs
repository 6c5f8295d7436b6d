using System.Text;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Catalog;

/// <summary>The complete backups of a cluster in a repository (every system identifier), oldest first.</summary>
public sealed class BackupCatalog(IBackupRepository repository, string cluster)
{
    public const string ManifestName = "manifest.json";
    /// <summary>
    /// Each `backup verify` writes a new verification-&lt;UTC time&gt;.json next to the manifest
    /// (never replacing the manifest or an earlier outcome); the newest one is the backup's state.
    /// </summary>
    public const string VerificationPrefix = "verification-";

    public IBackupRepository Repository => repository;

    public async Task<IReadOnlyList<BackupManifest>> ListAsync(CancellationToken ct)
    {
        var objects = await repository.ListAsync(cluster + "/", ct);
        var result = new List<BackupManifest>();
        foreach (var o in objects.Where(o => o.Key.EndsWith("/" + ManifestName, StringComparison.Ordinal) && o.Key.Contains("/backups/", StringComparison.Ordinal)))
        {
            var manifest = BackupManifest.Parse(await ReadTextAsync(o.Key, ct));
            var verification = LatestVerification(objects.Select(v => v.Key), o.Key[..^ManifestName.Length]);
            if (verification is not null)
            {
                manifest = manifest with { Verified = System.Text.Json.JsonSerializer.Deserialize<BackupVerification>(await ReadTextAsync(verification, ct), BackupManifest.Json) };
            }
            result.Add(manifest);
        }
        return [.. result.OrderBy(m => m.StartTime).ThenBy(m => m.Id, StringComparer.Ordinal)];
    }

    /// <summary>The name of a verification record written at <paramref name="time"/> (sorts by time).</summary>
    public static string VerificationFileName(DateTimeOffset time) =>
        VerificationPrefix + time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'.'fff'Z'", System.Globalization.CultureInfo.InvariantCulture) + ".json";

    /// <summary>The key of the newest verification record directly under <paramref name="backupPrefix"/>; null when there is none.</summary>
    public static string? LatestVerification(IEnumerable<string> keys, string backupPrefix) =>
        keys.Where(k => k.StartsWith(backupPrefix + VerificationPrefix, StringComparison.Ordinal) && k.EndsWith(".json", StringComparison.Ordinal)
                        && k.IndexOf('/', backupPrefix.Length) < 0)
            .Order(StringComparer.Ordinal)
            .LastOrDefault();

    /// <summary>
    /// Backup ids that have files but no manifest (running, failed or killed backups) — temp files of an
    /// interrupted write and empty backup directories included — oldest first;
    /// <see cref="IncompleteBackup.Running"/> when a repository lock names the id.
    /// </summary>
    public async Task<IReadOnlyList<IncompleteBackup>> ListIncompleteAsync(CancellationToken ct)
    {
        var objects = await repository.ListAsync(cluster + "/", ct);
        var unfinished = await repository.ListUnfinishedAsync(cluster + "/", ct);
        var result = new List<IncompleteBackup>();
        foreach (var group in objects.Concat(unfinished)
                     .Select(o => (Object: o, Parts: o.Key.Split('/')))
                     .Where(x => x.Parts.Length >= 5 && x.Parts[2] == "backups")
                     .GroupBy(x => (SystemId: x.Parts[1], Id: x.Parts[3])))
        {
            if (group.Any(x => x.Parts.Length == 5 && x.Parts[4] == ManifestName))
            {
                continue;
            }
            var layout = new RepositoryLayout(cluster, group.Key.SystemId);
            var running = false;
            foreach (var lockKey in objects.Where(o => o.Key.StartsWith(layout.Root + "/locks/", StringComparison.Ordinal)).Select(o => o.Key))
            {
                if (await RepositoryLock.ReadAsync(repository, lockKey, ct) is { } holder && holder.Id == group.Key.Id && !RepositoryLock.IsStale(holder, DateTimeOffset.UtcNow))
                {
                    running = true;
                }
            }
            var files = group.Where(x => !x.Object.Key.EndsWith('/')).ToList();
            result.Add(new IncompleteBackup(group.Key.SystemId, group.Key.Id, files.Count, files.Sum(x => x.Object.Size), group.Max(x => x.Object.LastModified), running));
        }
        return [.. result.OrderBy(b => b.Id, StringComparer.Ordinal)];
    }

    /// <summary>
    /// A logical backup by id, or for "latest" the newest logical backup of <paramref name="database"/>
    /// (never another database's).
    /// </summary>
    public async Task<BackupManifest> FindLogicalAsync(string id, string database, CancellationToken ct)
    {
        if (id != "latest")
        {
            return await FindAsync(id, "logical", ct);
        }
        var all = (await ListAsync(ct)).Where(m => m.Type == "logical").ToList();
        return all.LastOrDefault(m => m.Database == database) ?? throw new PgWardenException(ExitCodes.NotFound,
            $"there is no logical backup of database {database} of cluster {cluster} in {repository.Description}"
            + (all.Count == 0 ? "" : $" (logical backups exist of: {string.Join(", ", all.Select(m => m.Database).Distinct())}; choose one with --source-db or an id)"));
    }

    /// <summary>A backup by id, or the newest of <paramref name="type"/> for "latest".</summary>
    public async Task<BackupManifest> FindAsync(string id, string? type, CancellationToken ct)
    {
        var all = await ListAsync(ct);
        var candidates = type is null ? all : all.Where(m => m.Type == type).ToList();
        var found = id == "latest" ? candidates.LastOrDefault() : candidates.FirstOrDefault(m => m.Id == id);
        return found ?? throw new PgWardenException(ExitCodes.NotFound, id == "latest"
            ? $"there is no {type ?? ""} backup of cluster {cluster} in {repository.Description}".Replace("  ", " ")
            : $"backup {id} is not in {repository.Description} (backups: {(candidates.Count == 0 ? "none" : string.Join(", ", candidates.Select(m => m.Id)))})");
    }

    private async Task<string> ReadTextAsync(string key, CancellationToken ct)
    {
        await using var stream = await repository.GetAsync(key, ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(ct);
    }

    public static async Task PutTextAsync(IBackupRepository repository, string key, string text, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        using var body = new MemoryStream(bytes);
        if (!await repository.PutIfAbsentAsync(key, body, new Dictionary<string, string> { [ObjectChecksum.Stored] = ObjectChecksum.Sha256(bytes) }, ct))
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"{key} already exists in {repository.Description}; refusing to overwrite it");
        }
    }
}
