using System.Text;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Catalog;

/// <summary>The complete backups of a cluster in a repository (every system identifier), oldest first.</summary>
public sealed class BackupCatalog(IBackupRepository repository, string cluster)
{
    public const string ManifestName = "manifest.json";
    public const string VerificationName = "verification.json";

    public IBackupRepository Repository => repository;

    public async Task<IReadOnlyList<BackupManifest>> ListAsync(CancellationToken ct)
    {
        var objects = await repository.ListAsync(cluster + "/", ct);
        var result = new List<BackupManifest>();
        foreach (var o in objects.Where(o => o.Key.EndsWith("/" + ManifestName, StringComparison.Ordinal) && o.Key.Contains("/backups/", StringComparison.Ordinal)))
        {
            var manifest = BackupManifest.Parse(await ReadTextAsync(o.Key, ct));
            var verification = objects.Where(v => v.Key.StartsWith(o.Key[..^ManifestName.Length] + VerificationName, StringComparison.Ordinal)).Select(v => v.Key).LastOrDefault();
            if (verification is not null)
            {
                manifest = manifest with { Verified = System.Text.Json.JsonSerializer.Deserialize<BackupVerification>(await ReadTextAsync(verification, ct), BackupManifest.Json) };
            }
            result.Add(manifest);
        }
        return [.. result.OrderBy(m => m.StartTime).ThenBy(m => m.Id, StringComparer.Ordinal)];
    }

    /// <summary>A backup by id, or the newest of <paramref name="type"/> for "latest".</summary>
    public async Task<BackupManifest> FindAsync(string id, string? type, CancellationToken ct)
    {
        var all = await ListAsync(ct);
        var candidates = type is null ? all : all.Where(m => m.Type == type).ToList();
        var found = id == "latest" ? candidates.LastOrDefault() : candidates.FirstOrDefault(m => m.Id == id);
        return found ?? throw new PgWardenException(ExitCodes.ConfigError, id == "latest"
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
