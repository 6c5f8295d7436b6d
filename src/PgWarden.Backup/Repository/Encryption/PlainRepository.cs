using PgWarden.Core.Errors;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// A repository used without encryption (<c>backup.encryption: none</c>, or a cluster created before
/// encryption existed): passes everything through, but refuses clearly — instead of failing later on
/// "not valid zstd data" — to read an encrypted file or to write plain files where the cluster's files are encrypted.
/// </summary>
public sealed class PlainRepository(IBackupRepository inner, string why) : IBackupRepository, IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _checked = new(StringComparer.Ordinal);

    public string Description => inner.Description;

    public async Task<bool> PutIfAbsentAsync(string key, Stream content, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (EncryptionMarker.ClusterOf(key) is { } cluster && !_checked.ContainsKey(cluster))
        {
            if (await inner.ExistsAsync(EncryptionMarker.Key(cluster), cancellationToken))
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"repository {inner.Description} holds encrypted backups of cluster {cluster} ({EncryptionMarker.Key(cluster)}), but {why}; "
                    + "plain and encrypted files are never mixed: configure backup.encryption.key_file with the cluster's key");
            }
            _checked[cluster] = true;
        }
        return await inner.PutIfAbsentAsync(key, content, metadata, cancellationToken);
    }

    public async Task<Stream> GetAsync(string key, CancellationToken cancellationToken)
    {
        var stream = await inner.GetAsync(key, cancellationToken);
        if (EncryptionMarker.IsMarker(key))
        {
            return stream;
        }
        var head = new byte[EncryptedFormat.Magic.Length];
        var n = 0;
        try
        {
            while (n < head.Length && await stream.ReadAsync(head.AsMemory(n), cancellationToken) is var read and > 0)
            {
                n += read;
            }
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
        if (EncryptedFormat.IsEncrypted(head.AsSpan(0, n)))
        {
            await stream.DisposeAsync();
            throw new EncryptedObjectException($"{key} in {inner.Description} is encrypted, but {why}; configure backup.encryption.key_file with the cluster's key to read it");
        }
        return new PrefixedStream(head[..n], stream);
    }

    public Task<RepositoryObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => inner.ExistsAsync(key, cancellationToken);

    public async Task<IReadOnlyList<RepositoryObject>> ListAsync(string prefix, CancellationToken cancellationToken) =>
        [.. (await inner.ListAsync(prefix, cancellationToken)).Where(o => !o.Key.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal))];

    public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

    public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken) => inner.DeletePrefixAsync(prefix, cancellationToken);

    public Task<bool> AddMissingMetadataAsync(string key, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        inner.AddMissingMetadataAsync(key, metadata, cancellationToken);

    public Task<IReadOnlyList<RepositoryObject>> ListUnfinishedAsync(string prefix, CancellationToken cancellationToken) =>
        inner.ListUnfinishedAsync(prefix, cancellationToken);

    public void Dispose() => (inner as IDisposable)?.Dispose();

    /// <summary>The bytes already read from a stream, then the rest of it.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream rest) : ReadOnlyStream
    {
        private int _pos;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_pos < prefix.Length)
            {
                var n = Math.Min(buffer.Length, prefix.Length - _pos);
                prefix.AsMemory(_pos, n).CopyTo(buffer);
                _pos += n;
                return n;
            }
            return await rest.ReadAsync(buffer, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await rest.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
