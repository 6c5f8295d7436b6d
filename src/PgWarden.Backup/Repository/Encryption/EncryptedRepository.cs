using System.Collections.Concurrent;
using System.Security.Cryptography;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// Encrypts every object on its way into <paramref name="inner"/> and decrypts and authenticates it on its way
/// out (format: <see cref="EncryptedFormat"/>; docs/backup-encryption.md). Each object gets a fresh random data
/// key, wrapped under the master key(s) of the key ring as small objects under <see cref="WrappedDataKey.Root"/>
/// (hidden from listings, deleted with their object). Callers see plaintext, so their checksums and
/// metadata stay as they are; the ciphertext is bound to the object's key, so a file copied under another
/// name — another backup's, another WAL segment's, an old manifest — fails to decrypt.
/// The key ring is re-read for every object written or read, so a rotation under way is followed at once.
/// </summary>
public sealed class EncryptedRepository(IBackupRepository inner, Func<KeyRing> keys, int chunkSize = EncryptedFormat.DefaultChunkSize) : IBackupRepository, IDisposable
{
    /// <summary>Seekable bodies up to this size are sealed in memory (they already are in memory).</summary>
    private const long InMemoryLimit = 64L << 20;

    private readonly ConcurrentDictionary<string, bool> _markedClusters = new(StringComparer.Ordinal);

    public IBackupRepository Inner => inner;

    public string Description => inner.Description;

    public async Task<bool> PutIfAbsentAsync(string key, Stream content, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (EncryptionMarker.IsMarker(key) || key.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{key}' is reserved for the repository's encryption", nameof(key));
        }
        await EnsureMarkedAsync(key, cancellationToken);
        if (await inner.ExistsAsync(key, cancellationToken))
        {
            return false;
        }
        var ring = keys();
        var dataKey = RandomNumberGenerator.GetBytes(EncryptedFormat.DataKeySize);
        try
        {
            var header = EncryptedFormat.NewHeader(RandomNumberGenerator.GetBytes(EncryptedFormat.DataKeyIdSize), chunkSize);
            var wrapped = new HashSet<string>(StringComparer.Ordinal);
            foreach (var master in ring.WrapFor)
            {
                await StoreWrappingAsync(key, header, dataKey, master, cancellationToken);
                wrapped.Add(master.Id);
            }
            bool stored;
            await using (var encrypting = new EncryptingStream(content, dataKey, header, key))
            {
                if (content.CanSeek && content.Length - content.Position <= InMemoryLimit)
                {
                    // A small seekable body (a WAL segment) stays seekable, so S3 sends it in one PUT without spooling.
                    using var sealedBody = new MemoryStream();
                    await encrypting.CopyToAsync(sealedBody, cancellationToken);
                    sealedBody.Position = 0;
                    stored = await inner.PutIfAbsentAsync(key, sealedBody, metadata, cancellationToken);
                }
                else
                {
                    stored = await inner.PutIfAbsentAsync(key, encrypting, metadata, cancellationToken);
                }
            }
            if (!stored)
            {
                foreach (var id in wrapped)
                {
                    await inner.DeleteAsync(WrappedDataKey.ObjectKey(key, header.DataKeyIdHex, id), cancellationToken);
                }
                return false;
            }
            // A rotation that began (or finished) while this object was written may not have seen its wrapping:
            // wrap it under whatever keys are current now, so retiring the old key never strands it.
            var now = keys();
            foreach (var master in now.WrapFor.Where(m => !wrapped.Contains(m.Id)))
            {
                await StoreWrappingAsync(key, header, dataKey, master, cancellationToken);
            }
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private async Task StoreWrappingAsync(string key, EncryptedFormat.Header header, byte[] dataKey, MasterKey master, CancellationToken ct)
    {
        using var body = new MemoryStream(WrappedDataKey.Wrap(master, header.DataKeyId, dataKey, key));
        await inner.PutIfAbsentAsync(WrappedDataKey.ObjectKey(key, header.DataKeyIdHex, master.Id), body, new Dictionary<string, string>(), ct);
    }

    /// <summary>Writes the cluster's encryption marker once; refuses a repository that already holds the cluster's files in plain.</summary>
    private async Task EnsureMarkedAsync(string key, CancellationToken ct)
    {
        if (EncryptionMarker.ClusterOf(key) is not { } cluster || _markedClusters.ContainsKey(cluster))
        {
            return;
        }
        var marker = EncryptionMarker.Key(cluster);
        if (!await inner.ExistsAsync(marker, ct))
        {
            var plain = (await inner.ListAsync(cluster + "/", ct)).FirstOrDefault(o => o.Key != marker);
            // Another writer may have marked the repository and stored its first file since we looked.
            if (plain is not null && !await inner.ExistsAsync(marker, ct))
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"repository {inner.Description} already holds unencrypted files of cluster {cluster} (e.g. {plain.Key}); encrypted and plain files are never mixed in one repository: "
                    + "point backup.repository at a new, empty location for encrypted backups, or set backup.encryption: none to keep storing plain");
            }
            using var body = new MemoryStream(EncryptionMarker.Body);
            await inner.PutIfAbsentAsync(marker, body, new Dictionary<string, string>(), ct);
        }
        _markedClusters[cluster] = true;
    }

    public async Task<Stream> GetAsync(string key, CancellationToken cancellationToken)
    {
        var stream = await inner.GetAsync(key, cancellationToken);
        if (EncryptionMarker.IsMarker(key))
        {
            return stream;
        }
        try
        {
            var bytes = new byte[EncryptedFormat.HeaderSize];
            var n = await ReadHeaderAsync(stream, bytes, cancellationToken);
            var name = $"{key} in {inner.Description}";
            if (!EncryptedFormat.IsEncrypted(bytes.AsSpan(0, n)))
            {
                throw new EncryptedObjectException($"{name} is not encrypted, but backup encryption is on: a plain file in an encrypted repository is not trusted (it was written without encryption, or put there by someone else); not using it");
            }
            var header = (n == bytes.Length ? EncryptedFormat.Parse(bytes) : null)
                ?? throw new EncryptedObjectException($"{name} cannot be read: {EncryptedFormat.Unreadable(bytes[..n])}");
            var dataKey = await DataKeyAsync(key, header, name, cancellationToken);
            try
            {
                return new DecryptingStream(stream, dataKey, header, key, name);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(dataKey);
            }
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private static async Task<int> ReadHeaderAsync(Stream stream, byte[] buffer, CancellationToken ct)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), ct);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    /// <summary>The object's data key, unwrapped with the first key of the ring that has a wrapping for it.</summary>
    private async Task<byte[]> DataKeyAsync(string key, EncryptedFormat.Header header, string name, CancellationToken ct)
    {
        var ring = keys();
        var failed = new List<string>();
        foreach (var master in ring.Readable)
        {
            byte[] blob;
            try
            {
                await using var s = await inner.GetAsync(WrappedDataKey.ObjectKey(key, header.DataKeyIdHex, master.Id), ct);
                using var buffer = new MemoryStream();
                await s.CopyToAsync(buffer, ct);
                blob = buffer.ToArray();
            }
            catch (FileNotFoundException)
            {
                continue;
            }
            if (WrappedDataKey.Unwrap(master, blob, header.DataKeyId, key) is { } dataKey)
            {
                return dataKey;
            }
            failed.Add(master.Id);
        }
        if (failed.Count > 0)
        {
            throw new EncryptedObjectException($"{name} cannot be decrypted: the wrapping of its data key under master key {string.Join(", ", failed)} fails authentication (it was altered or belongs to another file); not using it");
        }
        var others = (await inner.ListAsync(WrappedDataKey.ObjectPrefix(key), ct))
            .Select(o => WrappedDataKey.ParseKey(o.Key)).OfType<(string Object, string DataKeyId, string MasterKeyId)>()
            .Where(w => w.Object == key && w.DataKeyId == header.DataKeyIdHex).Select(w => w.MasterKeyId).Distinct().ToList();
        var have = string.Join(", ", ring.Readable.Select(m => $"{m.Id} ({m.Source ?? "in memory"})"));
        throw new EncryptedObjectException(others.Count == 0
            ? $"{name} cannot be decrypted: its data key ({header.DataKeyIdHex[..8]}…) is not in the repository (its key object was deleted, or the file was copied here from elsewhere); not using it"
            : $"{name} cannot be decrypted with the configured key: its data key is wrapped by master key {string.Join(", ", others)}, the key file holds {have} — wrong backup.encryption.key_file?");
    }

    public Task<RepositoryObject?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => inner.ExistsAsync(key, cancellationToken);

    public async Task<IReadOnlyList<RepositoryObject>> ListAsync(string prefix, CancellationToken cancellationToken) =>
        [.. (await inner.ListAsync(prefix, cancellationToken)).Where(o => !o.Key.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal))];

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        await inner.DeleteAsync(key, cancellationToken);
        if (!key.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal))
        {
            await inner.DeletePrefixAsync(WrappedDataKey.ObjectPrefix(key), cancellationToken);
        }
    }

    public async Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        await inner.DeletePrefixAsync(prefix, cancellationToken);
        if (!prefix.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal))
        {
            await inner.DeletePrefixAsync(WrappedDataKey.Root + prefix, cancellationToken);
        }
    }

    public Task<bool> AddMissingMetadataAsync(string key, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        inner.AddMissingMetadataAsync(key, metadata, cancellationToken);

    public Task<IReadOnlyList<RepositoryObject>> ListUnfinishedAsync(string prefix, CancellationToken cancellationToken) =>
        inner.ListUnfinishedAsync(prefix, cancellationToken);

    public void Dispose() => (inner as IDisposable)?.Dispose();
}
