using PgWarden.Core.Ha;
using PgWarden.Backup.Compression;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Wal;

/// <summary>
/// PostgreSQL's archive_command / restore_command contract on a repository: push succeeds only
/// once the file is durably stored (or already stored with identical content), never overwrites
/// different content, and checks the WAL belongs to this cluster; fetch verifies both checksums
/// before writing the file PostgreSQL asked for.
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
        if (name.HasPageHeader)
        {
            var header = WalHeader.TryParse(content) ?? throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"{fileName} does not start with a WAL long page header; refusing to archive it");
            if (header.SystemIdentifier.ToString() != layout.SystemId)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"{fileName} belongs to database system {header.SystemIdentifier}, not to cluster {layout.Cluster} (system {layout.SystemId}); refusing to archive it");
            }
        }
        var key = layout.WalKey(fileName);
        var existing = await repository.StatAsync(key, cancellationToken);
        if (existing is not null)
        {
            var sha = ObjectChecksum.Sha256(content);
            return await CompareExistingAsync(existing, fileName, sha, cancellationToken) ? false
                : await KeepDivergedAsync(name, content, sha, cancellationToken) ? false
                : throw Conflict(fileName);
        }
        // Hash the content on the other core while this one compresses.
        var hashing = Task.Run(() => ObjectChecksum.Sha256(content), cancellationToken);
        var compressed = Zstd.Compress(content, CompressionLevel);
        var contentSha = await hashing;
        var metadata = new Dictionary<string, string>
        {
            [ObjectChecksum.Stored] = ObjectChecksum.Sha256(compressed),
            [ObjectChecksum.Content] = contentSha,
            [ObjectChecksum.ContentSize] = content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        using var body = new MemoryStream(compressed.Array!, compressed.Offset, compressed.Count, writable: false);
        if (await repository.PutIfAbsentAsync(key, body, metadata, cancellationToken))
        {
            return true;
        }
        // Someone stored it between our check and our write: identical is fine, different is not.
        var raced = await repository.StatAsync(key, cancellationToken);
        return raced is not null && await CompareExistingAsync(raced, fileName, contentSha, cancellationToken) ? false : throw Conflict(fileName);
    }

    /// <summary>
    /// A segment (or .partial) of timeline T whose archived copy differs is no conflict when an archived
    /// history file of a later timeline descends from T: T has been superseded. The archived copy stays
    /// authoritative — recovery on the later timeline reads from T only the WAL before the point where
    /// it left T, which every node that followed T up to there holds byte for byte (streaming copies
    /// WAL verbatim; copies differ only after an XLOG_SWITCH or after that point, on the abandoned
    /// branch, which recovery never reads for the later timeline). This node's copy is kept aside under
    /// wal-diverged/ (never replacing anything) and the push succeeds, so the node's archiver is not
    /// stuck on a file nobody will ever need.
    /// </summary>
    private async Task<bool> KeepDivergedAsync(WalFileName name, byte[] content, string contentSha, CancellationToken ct)
    {
        if (!name.HasPageHeader)
        {
            return false;
        }
        var laterHistories = (await repository.ListAsync(layout.WalPrefix, ct))
            .Select(o => layout.WalNameOf(o.Key)).OfType<string>()
            .Select(WalFileName.TryParse)
            .Where(h => h is { Kind: WalFileKind.History } && h.Timeline > name.Timeline)
            .ToList();
        foreach (var history in laterHistories)
        {
            var stat = await repository.StatAsync(layout.WalKey(history!.Name), ct);
            if (stat is null)
            {
                continue;
            }
            var parsed = TimelineHistory.Parse(history.Timeline, System.Text.Encoding.UTF8.GetString(await ReadVerifiedAsync(stat.Key, history.Name, stat.Metadata, ct)));
            if (parsed.SwitchPoint(name.Timeline) is not null)
            {
                var compressed = Zstd.Compress(content, CompressionLevel);
                using var body = new MemoryStream(compressed.Array!, compressed.Offset, compressed.Count, writable: false);
                await repository.PutIfAbsentAsync(layout.DivergedWalKey(name.Name, contentSha), body, new Dictionary<string, string>
                {
                    [ObjectChecksum.Stored] = ObjectChecksum.Sha256(compressed),
                    [ObjectChecksum.Content] = contentSha,
                }, ct);
                Console.Error.WriteLine($"pgwarden: {name.Name} is already archived with other content, but timeline {name.Timeline} was superseded by timeline {history.Timeline}: the archived copy stays, this node's copy is kept as {layout.DivergedWalKey(name.Name, contentSha)}");
                return true;
            }
        }
        return false;
    }

    private PgWardenException Conflict(string fileName) => new(ExitCodes.UnsafeRefused,
        $"{fileName} is already archived in {repository.Description} with different content; refusing to overwrite it (is another cluster with the same name and system identifier archiving there?)");

    private async Task<bool> CompareExistingAsync(RepositoryObject existing, string fileName, string contentSha, CancellationToken ct)
    {
        if (existing.Metadata.TryGetValue(ObjectChecksum.Content, out var stored))
        {
            return string.Equals(stored, contentSha, StringComparison.OrdinalIgnoreCase);
        }
        // Stored without its metadata (interrupted after the object became visible): compare the content itself.
        var content = await ReadVerifiedAsync(existing.Key, fileName, existing.Metadata, ct);
        return ObjectChecksum.Sha256(content) == contentSha;
    }

    /// <summary>Restores one archived file to <paramref name="destination"/>; false when it is not in the archive.</summary>
    public async Task<bool> FetchAsync(string fileName, string destination, CancellationToken cancellationToken)
    {
        if (WalFileName.TryParse(fileName) is null)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"{fileName} is not a WAL file name");
        }
        var key = layout.WalKey(fileName);
        var existing = await repository.StatAsync(key, cancellationToken);
        if (existing is null)
        {
            return false;
        }
        var content = await ReadVerifiedAsync(key, fileName, existing.Metadata, cancellationToken);
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

    /// <summary>Reads an archived file and checks the stored and content checksums; throws on any mismatch.</summary>
    public async Task<byte[]> ReadVerifiedAsync(string key, string fileName, IReadOnlyDictionary<string, string> metadata, CancellationToken ct)
    {
        byte[] stored;
        await using (var stream = await repository.GetAsync(key, ct))
        using (var buffer = new MemoryStream())
        {
            await stream.CopyToAsync(buffer, ct);
            stored = buffer.ToArray();
        }
        if (metadata.TryGetValue(ObjectChecksum.Stored, out var expected) && ObjectChecksum.Sha256(stored) != expected)
        {
            throw new PgWardenException(ExitCodes.OperationFailed,
                $"archived {fileName} in {repository.Description} is corrupted (SHA-256 {ObjectChecksum.Sha256(stored)[..12]}… instead of {expected[..12]}…); not restoring it");
        }
        byte[] content;
        try
        {
            content = Zstd.Decompress(stored, MaxContentSize);
        }
        catch (InvalidDataException e)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"archived {fileName} in {repository.Description} is not valid zstd data ({e.Message}); not restoring it");
        }
        if (metadata.TryGetValue(ObjectChecksum.Content, out var expectedContent) && ObjectChecksum.Sha256(content) != expectedContent)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"archived {fileName} in {repository.Description} decompresses to different content than was archived; not restoring it");
        }
        return content;
    }
}
