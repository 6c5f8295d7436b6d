using PgWarden.Backup.Repository;

namespace PgWarden.Core.Tests;

/// <summary>A hand-written fake repository: objects in a dictionary, put-if-absent semantics like the real ones.</summary>
public sealed class InMemoryRepository : IBackupRepository
{
    public Dictionary<string, (byte[] Data, Dictionary<string, string> Meta)> Objects { get; } = new(StringComparer.Ordinal);

    public string Description => "memory:";

    public async Task<bool> PutIfAbsentAsync(string key, Stream content, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (Objects.ContainsKey(key))
        {
            return false;
        }
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        Objects[key] = (buffer.ToArray(), metadata.ToDictionary(kv => kv.Key.ToLowerInvariant(), kv => kv.Value));
        return true;
    }

    public Task<Stream> GetAsync(string key, CancellationToken cancellationToken) =>
        Objects.TryGetValue(key, out var o) ? Task.FromResult<Stream>(new MemoryStream(o.Data)) : throw new FileNotFoundException(key);

    public Task<RepositoryObject?> StatAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(Objects.TryGetValue(key, out var o) ? new RepositoryObject(key, o.Data.Length, DateTimeOffset.UtcNow, o.Meta) : null);

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => Task.FromResult(Objects.ContainsKey(key));

    public Task<IReadOnlyList<RepositoryObject>> ListAsync(string prefix, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<RepositoryObject>>([.. Objects.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new RepositoryObject(kv.Key, kv.Value.Data.Length, DateTimeOffset.UtcNow, kv.Value.Meta))]);

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        Objects.Remove(key);
        return Task.CompletedTask;
    }

    public Task<bool> AddMissingMetadataAsync(string key, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (!Objects.TryGetValue(key, out var o) || o.Meta.Count > 0)
        {
            return Task.FromResult(false);
        }
        Objects[key] = (o.Data, metadata.ToDictionary(kv => kv.Key.ToLowerInvariant(), kv => kv.Value));
        return Task.FromResult(true);
    }

    public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        foreach (var key in Objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            Objects.Remove(key);
        }
        return Task.CompletedTask;
    }
}
