using PgWarden.Backup.Compression;
using PgWarden.Core.Ha;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Wal;

/// <summary>
/// PostgreSQL's archive_command / restore_command contract on a repository: push succeeds only
/// once the file is durably stored (or already stored with identical content), never overwrites
/// different content, and refuses a file that cannot be the WAL it is named after (<see cref="WalFileCheck"/>:
/// this cluster's, whole, its own address and timeline; history files that parse); fetch verifies both
/// checksums and the same shape before writing the file PostgreSQL asked for.
/// </summary>
public sealed class WalArchiver(IBackupRepository repository, RepositoryLayout layout)
{
    /// <summary>
    /// zstd level 1: on PostgreSQL WAL it is both the fastest level and (measured on pgbench WAL) no worse
    /// in ratio than 3 — archive_command runs once per segment, so its cost bounds the WAL rate one archiver sustains.
    /// </summary>
    private const int CompressionLevel = 1;

    /// <summary>Larger than any WAL file PostgreSQL writes (segments are at most 1 GB).</summary>
    private const long MaxContentSize = 1L << 30;

    public RepositoryLayout Layout => layout;

    /// <summary>Archives one file; returns true when it was stored now, false when an identical copy was already there.</summary>
    public async Task<bool> PushAsync(string path, CancellationToken cancellationToken)
    {
        var fileName = Path.GetFileName(path);
        var name = WalFileName.TryParse(fileName) ?? throw new PgWardenException(ExitCodes.UnsafeRefused,
            $"{fileName} is not a WAL segment, .partial, .history or .backup file name; refusing to archive it");
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"cannot read {path}: {e.Message}");
        }
        if (WalFileCheck.Problem(name, content, layout.SystemId) is { } problem)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"{fileName} cannot be the WAL file of that name of cluster {layout.Cluster} (system {layout.SystemId}): {problem}; refusing to archive it");
        }
        var key = layout.WalKey(fileName);
        var existing = await repository.StatAsync(key, cancellationToken);
        if (existing is not null)
        {
            var sha = ObjectChecksum.Sha256(content);
            return await SameAsArchivedAsync(existing, name, content, sha, cancellationToken) ? false
                : await KeepDivergedAsync(name, content, sha, existing, cancellationToken) ? false
                : throw Conflict(fileName);
        }
        // Hash the content on the other core while this one compresses.
        var hashing = Task.Run(() => ObjectChecksum.Sha256(content), cancellationToken);
        var compressed = Zstd.Compress(content, CompressionLevel);
        var contentSha = await hashing;
        using var body = new MemoryStream(compressed.Array!, compressed.Offset, compressed.Count, writable: false);
        if (await repository.PutIfAbsentAsync(key, body, Checksums(compressed, contentSha, content.Length), cancellationToken))
        {
            return true;
        }
        // Someone stored it between our check and our write: identical is fine, different is not.
        var raced = await repository.StatAsync(key, cancellationToken);
        return raced is not null && await SameAsArchivedAsync(raced, name, content, contentSha, cancellationToken) ? false : throw Conflict(fileName);
    }

    private static Dictionary<string, string> Checksums(ReadOnlySpan<byte> stored, string contentSha, long contentSize) => new()
    {
        [ObjectChecksum.Stored] = ObjectChecksum.Sha256(stored),
        [ObjectChecksum.Content] = contentSha,
        [ObjectChecksum.ContentSize] = contentSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Whether the archived copy holds <paramref name="content"/>. A copy stored without its checksums (a push
    /// killed between storing the file and its metadata) is decompressed and compared byte for byte; when it
    /// equals this file, its checksums are recorded now — so it is verifiable again — and it counts as archived.
    /// </summary>
    private async Task<bool> SameAsArchivedAsync(RepositoryObject existing, WalFileName name, byte[] content, string contentSha, CancellationToken ct)
    {
        if (existing.Metadata.TryGetValue(ObjectChecksum.Content, out var recorded))
        {
            return string.Equals(recorded, contentSha, StringComparison.OrdinalIgnoreCase);
        }
        var stored = await ReadStoredAsync(existing.Key, ct);
        byte[] archived;
        try
        {
            archived = Zstd.Decompress(stored, MaxContentSize);
        }
        catch (InvalidDataException)
        {
            return false;
        }
        if (!archived.AsSpan().SequenceEqual(content))
        {
            return false;
        }
        if (await repository.AddMissingMetadataAsync(existing.Key, Checksums(stored, contentSha, content.Length), ct))
        {
            Console.Error.WriteLine($"pgwarden: {name.Name} was archived without its checksums (a push was interrupted); its content equals this copy byte for byte, so they are recorded now");
        }
        return true;
    }

    /// <summary>
    /// A segment (or .partial) of timeline T whose archived copy differs is no conflict when an archived
    /// history file of a later timeline descends from T and both copies are identical up to the point where
    /// the later timeline left T (the latest such point, when several did): T has been superseded, and only
    /// what lies past that point — the abandoned branch, which recovery to the later timeline never reads —
    /// may differ. The archived copy stays authoritative; this node's copy is kept aside under
    /// wal-diverged/ (never replacing anything) and the push succeeds, so the node's archiver is not stuck on
    /// a file nobody will ever need. A copy that differs before that point is damage — WAL before a switch
    /// point is the same byte for byte in every copy (streaming copies it verbatim) — and is refused.
    /// </summary>
    private async Task<bool> KeepDivergedAsync(WalFileName name, byte[] content, string contentSha, RepositoryObject existing, CancellationToken ct)
    {
        if (!name.HasPageHeader)
        {
            return false;
        }
        var timelines = await ArchivedTimelines.ReadAsync(repository, layout, ct);
        var left = timelines.Histories.Where(h => h.Key > name.Timeline)
            .Select(h => (Later: h.Key, Point: h.Value.SwitchPoint(name.Timeline)))
            .Where(h => h.Point is not null)
            .OrderByDescending(h => h.Point)
            .FirstOrDefault();
        if (left.Point is not { } switchPoint)
        {
            return false;
        }
        var segmentStart = (long)(name.SegmentNumber() * (ulong)WalFileName.DefaultSegmentSize);
        var before = (int)Math.Clamp(switchPoint - segmentStart, 0, content.Length);
        if (before > 0)
        {
            var archived = await ReadVerifiedAsync(existing.Key, name.Name, existing.Metadata, ct);
            var same = archived.Length >= before ? content.AsSpan(0, before).CommonPrefixLength(archived.AsSpan(0, before)) : 0;
            if (same < before)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"{name.Name} differs from the copy archived in {repository.Description} at {Lsn.Format(segmentStart + same)}, before {Lsn.Format(switchPoint)} where timeline {left.Later} left timeline {name.Timeline}: "
                    + "WAL before a switch point is the same in every copy, so one of the two is damaged; refusing to archive it (compare this node's pg_wal with `pgwarden wal-fetch`)");
            }
        }
        var compressed = Zstd.Compress(content, CompressionLevel);
        using var body = new MemoryStream(compressed.Array!, compressed.Offset, compressed.Count, writable: false);
        await repository.PutIfAbsentAsync(layout.DivergedWalKey(name.Name, contentSha), body, Checksums(compressed, contentSha, content.Length), ct);
        Console.Error.WriteLine($"pgwarden: {name.Name} is already archived with other content past {Lsn.Format(switchPoint)}, where timeline {left.Later} left timeline {name.Timeline}: the archived copy stays, this node's copy is kept as {layout.DivergedWalKey(name.Name, contentSha)}");
        return true;
    }

    private PgWardenException Conflict(string fileName) => new(ExitCodes.UnsafeRefused,
        $"{fileName} is already archived in {repository.Description} with different content; refusing to overwrite it (is another cluster with the same name and system identifier archiving there?)");

    /// <summary>
    /// Restores one archived file to <paramref name="destination"/>; false when it is not in the archive. Throws
    /// <see cref="ArchivedFileDamagedException"/> (nothing written) when it is there but cannot be served as good.
    /// </summary>
    public async Task<bool> FetchAsync(string fileName, string destination, CancellationToken cancellationToken)
    {
        var name = WalFileName.TryParse(fileName) ?? throw new PgWardenException(ExitCodes.UnsafeRefused, $"{fileName} is not a WAL file name");
        var key = layout.WalKey(fileName);
        var existing = await repository.StatAsync(key, cancellationToken);
        if (existing is null)
        {
            return false;
        }
        var content = await ReadVerifiedAsync(key, fileName, existing.Metadata, cancellationToken);
        if (WalFileCheck.Problem(name, content, layout.SystemId) is { } problem)
        {
            throw new ArchivedFileDamagedException($"archived {fileName} in {repository.Description} is not the WAL file of that name ({problem}); not restoring it");
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(destination))!;
        var temp = Path.Combine(dir, $".{Path.GetFileName(destination)}.pgwarden-{Environment.ProcessId}");
        try
        {
            await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                await file.WriteAsync(content, cancellationToken);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, destination, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        return true;
    }

    private async Task<byte[]> ReadStoredAsync(string key, CancellationToken ct)
    {
        await using var stream = await repository.GetAsync(key, ct);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    /// <summary>
    /// Reads an archived file and checks it: the stored bytes' SHA-256, zstd (whose frame checksum, in files
    /// written since it is on, the decoder checks), the content's SHA-256. A file with neither recorded
    /// checksum nor frame checksum cannot be verified and is refused like a damaged one — never served as good.
    /// </summary>
    public async Task<byte[]> ReadVerifiedAsync(string key, string fileName, IReadOnlyDictionary<string, string> metadata, CancellationToken ct)
    {
        byte[] stored;
        try
        {
            stored = await ReadStoredAsync(key, ct);
        }
        catch (Repository.Encryption.EncryptedObjectException e)
        {
            // Wrong key, tampered or swapped: damage as far as recovery is concerned (never "not archived").
            throw new ArchivedFileDamagedException($"archived {fileName}: {e.Message}");
        }
        var hasStored = metadata.TryGetValue(ObjectChecksum.Stored, out var expected);
        var hasContent = metadata.TryGetValue(ObjectChecksum.Content, out var expectedContent);
        if (hasStored && ObjectChecksum.Sha256(stored) != expected)
        {
            throw new ArchivedFileDamagedException(
                $"archived {fileName} in {repository.Description} is corrupted (SHA-256 {ObjectChecksum.Sha256(stored)[..12]}… instead of {expected![..12]}…); not restoring it");
        }
        if (!hasStored && !hasContent && !Zstd.HasContentChecksum(stored))
        {
            throw new ArchivedFileDamagedException(
                $"archived {fileName} in {repository.Description} has no recorded checksum (its metadata is missing: a push was interrupted) and no zstd frame checksum, so it cannot be verified; not restoring it (a node that still has the file repairs it with `pgwarden wal-push`)");
        }
        byte[] content;
        try
        {
            content = Zstd.Decompress(stored, MaxContentSize);
        }
        catch (InvalidDataException e)
        {
            throw new ArchivedFileDamagedException($"archived {fileName} in {repository.Description} is not valid zstd data ({e.Message}); not restoring it");
        }
        if (hasContent && ObjectChecksum.Sha256(content) != expectedContent)
        {
            throw new ArchivedFileDamagedException($"archived {fileName} in {repository.Description} decompresses to different content than was archived; not restoring it");
        }
        return content;
    }
}
