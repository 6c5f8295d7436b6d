using System.IO.Pipelines;
using System.Security.Cryptography;
using PgWarden.Backup.Compression;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;
using ZstdSharp;

namespace PgWarden.Backup.Catalog;

/// <summary>
/// Streams a backup file into the repository zstd-compressed, hashing the content and the stored
/// bytes on the way; reads it back verifying both hashes.
/// </summary>
public static class BackupFileStore
{
    public static Task<BackupFile> StoreAsync(IBackupRepository repository, string key, string name, Stream source, int level, CancellationToken ct) =>
        StoreAsync(repository, key, name, source, level, 0, ct);

    /// <summary>As above; with <paramref name="workers"/> &gt; 0 zstd compresses on that many threads of its own (system libzstd only).</summary>
    public static async Task<BackupFile> StoreAsync(IBackupRepository repository, string key, string name, Stream source, int level, int workers, CancellationToken ct)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 8 << 20, resumeWriterThreshold: 4 << 20));
        HashingStream? stored = null;
        HashingStream? content = null;
        var producer = Task.Run(async () =>
        {
            try
            {
                stored = new HashingStream(pipe.Writer.AsStream(leaveOpen: true), leaveOpen: true);
                await using (var compress = Zstd.CompressionStream(stored, level, workers, leaveOpen: true))
                {
                    content = new HashingStream(compress, leaveOpen: true);
                    await source.CopyToAsync(content, 1 << 20, ct);
                    await content.FlushAsync(ct);
                }
                await stored.FlushAsync(ct);
                await pipe.Writer.CompleteAsync();
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e);
                throw;
            }
        }, ct);
        await using (var reader = pipe.Reader.AsStream())
        {
            if (!await repository.PutIfAbsentAsync(key, reader, new Dictionary<string, string>(), ct))
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, $"{key} already exists in {repository.Description}; refusing to overwrite it");
            }
        }
        await producer;
        return new BackupFile(name, content!.BytesWritten, stored!.BytesWritten, stored.Sha256, content.Sha256);
    }

    /// <summary>
    /// Decompresses a stored file into <paramref name="consume"/>, then checks both checksums;
    /// throws (after <paramref name="consume"/> has run) when either differs, so callers must undo what they did.
    /// </summary>
    public static async Task ReadVerifiedAsync(IBackupRepository repository, string key, BackupFile file, Func<Stream, Task> consume, Progress? progress, CancellationToken ct)
    {
        await using var raw = await repository.GetAsync(key, ct);
        using var storedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var contentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Stream counted = progress is null ? raw : new ProgressStream(raw, progress);
        await using var hashedStored = new HashingReadStream(counted, storedHash);
        try
        {
            await using var decompress = Zstd.DecompressionStream(hashedStored, leaveOpen: true);
            await using var hashedContent = new HashingReadStream(decompress, contentHash);
            await consume(hashedContent);
            // Drain whatever the consumer did not read so both hashes cover everything.
            await hashedContent.CopyToAsync(Stream.Null, ct);
        }
        catch (Exception e) when (e is ZstdException or ZstdDataException)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"backup file {file.Name} is corrupted (not valid zstd data: {e.Message})");
        }
        await hashedStored.CopyToAsync(Stream.Null, ct);
        var storedSha = Convert.ToHexStringLower(storedHash.GetHashAndReset());
        if (storedSha != file.Sha256)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"backup file {file.Name} is corrupted (SHA-256 {storedSha[..12]}… instead of {file.Sha256[..12]}…)");
        }
        var contentSha = Convert.ToHexStringLower(contentHash.GetHashAndReset());
        if (contentSha != file.ContentSha256)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"backup file {file.Name} decompresses to different content than was backed up");
        }
    }
}
