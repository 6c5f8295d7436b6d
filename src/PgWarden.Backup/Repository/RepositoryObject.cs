namespace PgWarden.Backup.Repository;

/// <summary>One stored object: its key, stored size, time and metadata (lower-case keys).</summary>
public sealed record RepositoryObject(string Key, long Size, DateTimeOffset LastModified, IReadOnlyDictionary<string, string> Metadata);
