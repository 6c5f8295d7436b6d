namespace PgWarden.Backup.Repository;

/// <summary>
/// Where backups and archived WAL live. Keys are '/'-separated relative paths. Objects are written
/// once: <see cref="PutIfAbsentAsync"/> never replaces an existing object, and an object is visible
/// only when complete (temp + fsync + rename on a filesystem, a single PUT on S3).
/// </summary>
public interface IBackupRepository
{
    /// <summary>A description for messages ("fs:/var/backups/pg", "s3://bucket/prefix"); never holds secrets.</summary>
    string Description { get; }

    /// <summary>Stores <paramref name="content"/> under <paramref name="key"/> with metadata; false when the key already exists (nothing written).</summary>
    Task<bool> PutIfAbsentAsync(string key, Stream content, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);

    /// <summary>Opens an object for reading; throws <see cref="FileNotFoundException"/> when absent.</summary>
    Task<Stream> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Size, time and metadata of an object; null when absent.</summary>
    Task<RepositoryObject?> StatAsync(string key, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken);

    /// <summary>Every complete object whose key starts with <paramref name="prefix"/>, sorted by key.</summary>
    Task<IReadOnlyList<RepositoryObject>> ListAsync(string prefix, CancellationToken cancellationToken);

    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every object under <paramref name="prefix"/> (which ends in '/'), including what an
    /// interrupted write left behind (temp files on a filesystem); nothing outside it.
    /// </summary>
    Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>
    /// Gives an existing object that has no metadata (a writer was killed between storing it and its
    /// metadata — possible on a filesystem, where the metadata is a sidecar) the metadata
    /// <paramref name="metadata"/>; false when the object is absent or already has metadata. Callers
    /// must have proven the metadata true (e.g. the stored bytes equal what they describe).
    /// </summary>
    Task<bool> AddMissingMetadataAsync(string key, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        Task.FromResult(false);

    /// <summary>
    /// What interrupted writes left under <paramref name="prefix"/> and <see cref="ListAsync"/> never shows: temp
    /// files (keys of their own) and empty directories (keys ending in '/') on a filesystem. Empty where a
    /// write is atomic (S3's single PUT).
    /// </summary>
    Task<IReadOnlyList<RepositoryObject>> ListUnfinishedAsync(string prefix, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<RepositoryObject>>([]);
}
