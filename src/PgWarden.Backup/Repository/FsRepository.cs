using System.Runtime.InteropServices;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Os;
using PgWarden.Core.Processes;

namespace PgWarden.Backup.Repository;

/// <summary>
/// A repository in a local (or mounted) directory. Each object is written to a hidden temp file,
/// fsynced, then hard-linked to its name — link(2) fails if the name exists, so nothing is ever
/// replaced — and the directory is fsynced. Metadata sits in a <c>KEY.meta</c> sidecar
/// (<c>name=value</c> lines), written the same way right after the object. When PgWarden runs as
/// root, directories and files are given to <paramref name="owner"/> (the postgres OS user runs wal-push).
/// A directory or file that cannot be written or read (read-only, full, not permitted) is one
/// <see cref="PgWardenException"/> naming the path and the cause, never a bare I/O exception.
/// </summary>
public sealed partial class FsRepository(string root, OsUser? owner) : IBackupRepository
{
    private const string MetaSuffix = ".meta";

    /// <summary>What a temp file's name holds: <c>.NAME.tmp-GUID</c> (and its <c>.meta</c>).</summary>
    private const string TempMarker = ".tmp-";

    public string Description => $"fs:{root}";

    public string Root => root;

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SysLink(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SysOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int SysFsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int SysClose(int fd);

    private const int EEXIST = 17;

    private string PathOf(string key)
    {
        if (key.Length == 0 || key.StartsWith('/') || key.Split('/').Any(p => p is "" or "." or ".."))
        {
            throw new ArgumentException($"invalid repository key '{key}'", nameof(key));
        }
        return Path.Combine(root, key);
    }

    public async Task<bool> PutIfAbsentAsync(string key, Stream content, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var final = PathOf(key);
        var dir = Path.GetDirectoryName(final)!;
        EnsureDirectory(dir);
        if (File.Exists(final))
        {
            return false;
        }
        var temp = Path.Combine(dir, $".{Path.GetFileName(final)}{TempMarker}{Guid.NewGuid():N}");
        var metaTemp = temp + MetaSuffix;
        var reading = false;
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                // Read errors belong to the source (and pass through as they are); write errors are the repository's.
                var buffer = new byte[1 << 20];
                while (true)
                {
                    reading = true;
                    var n = await content.ReadAsync(buffer, cancellationToken);
                    reading = false;
                    if (n == 0)
                    {
                        break;
                    }
                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                }
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }
            await WriteMetadataAsync(metaTemp, metadata, cancellationToken);
            GiveAway(temp);
            GiveAway(metaTemp);
            if (!Link(temp, final))
            {
                return false;
            }
            File.Move(metaTemp, final + MetaSuffix, overwrite: true);
            FsyncDirectory(dir);
            return true;
        }
        catch (Exception e) when (!reading && e is IOException or UnauthorizedAccessException)
        {
            throw Failure("write", final, e);
        }
        finally
        {
            DeleteQuietly(temp);
            DeleteQuietly(metaTemp);
        }
    }

    public async Task<bool> AddMissingMetadataAsync(string key, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var final = PathOf(key);
        if (!File.Exists(final) || File.Exists(final + MetaSuffix))
        {
            return false;
        }
        var metaTemp = Path.Combine(Path.GetDirectoryName(final)!, $".{Path.GetFileName(final)}{MetaSuffix}{TempMarker}{Guid.NewGuid():N}");
        try
        {
            await WriteMetadataAsync(metaTemp, metadata, cancellationToken);
            GiveAway(metaTemp);
            // link(2): a sidecar another writer added meanwhile is never replaced.
            var added = Link(metaTemp, final + MetaSuffix);
            FsyncDirectory(Path.GetDirectoryName(final)!);
            return added;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("write", final + MetaSuffix, e);
        }
        finally
        {
            DeleteQuietly(metaTemp);
        }
    }

    private static async Task WriteMetadataAsync(string path, IReadOnlyDictionary<string, string> metadata, CancellationToken ct)
    {
        await using var meta = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        await using var writer = new StreamWriter(meta);
        foreach (var (k, v) in metadata)
        {
            await writer.WriteLineAsync($"{k.ToLowerInvariant()}={v}");
        }
        await writer.FlushAsync(ct);
        meta.Flush(flushToDisk: true);
    }

    /// <summary>link(2) <paramref name="from"/> to <paramref name="to"/>: false when <paramref name="to"/> exists (nothing replaced).</summary>
    private static bool Link(string from, string to)
    {
        if (SysLink(from, to) == 0)
        {
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == EEXIST ? false : throw new IOException($"link to {to} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left as a temp file: `backup prune` removes temp files under backups and old ones under wal.
        }
    }

    /// <summary>One line for a failed file operation: the repository, what was done to which path, and why.</summary>
    private PgWardenException Failure(string verb, string path, Exception e) =>
        new(ExitCodes.OperationFailed, $"repository {Description}: cannot {verb} {path}: {Cause(e)}");

    private static string Cause(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        _ => e.Message.Split(" : '", 2)[0].TrimEnd('.'),
    };

    public Task<Stream> GetAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{key} is not in {Description}", key);
        }
        return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan));
    }

    public Task<RepositoryObject?> StatAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        var info = new FileInfo(path);
        return Task.FromResult(info.Exists ? ToObject(key, info) : null);
    }

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => Task.FromResult(File.Exists(PathOf(key)));

    public Task<IReadOnlyList<RepositoryObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var result = new List<RepositoryObject>();
        if (Directory.Exists(root))
        {
            var slash = prefix.LastIndexOf('/');
            var start = slash < 0 ? root : Path.Combine(root, prefix[..slash]);
            if (Directory.Exists(start))
            {
                foreach (var file in Directory.EnumerateFiles(start, "*", SearchOption.AllDirectories))
                {
                    var name = Path.GetFileName(file);
                    if (name.StartsWith('.') || name.EndsWith(MetaSuffix, StringComparison.Ordinal))
                    {
                        continue;
                    }
                    var key = Path.GetRelativePath(root, file).Replace('\\', '/');
                    if (key.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        result.Add(ToObject(key, new FileInfo(file)));
                    }
                }
            }
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return Task.FromResult<IReadOnlyList<RepositoryObject>>(result);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        try
        {
            File.Delete(path);
            File.Delete(path + MetaSuffix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("delete", path, e);
        }
        return Task.CompletedTask;
    }

    public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        if (!prefix.EndsWith('/'))
        {
            throw new ArgumentException($"repository prefix '{prefix}' must end with '/'", nameof(prefix));
        }
        var path = PathOf(prefix.TrimEnd('/'));
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
                FsyncDirectory(Path.GetDirectoryName(path)!);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("delete", path, e);
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<RepositoryObject>> ListUnfinishedAsync(string prefix, CancellationToken cancellationToken)
    {
        var result = new List<RepositoryObject>();
        var slash = prefix.LastIndexOf('/');
        var start = slash < 0 ? root : Path.Combine(root, prefix[..slash]);
        if (Directory.Exists(start))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(start, "*", SearchOption.AllDirectories))
            {
                var key = Path.GetRelativePath(root, entry).Replace('\\', '/');
                if (Directory.Exists(entry))
                {
                    if (!Directory.EnumerateFileSystemEntries(entry).Any() && (key + "/").StartsWith(prefix, StringComparison.Ordinal))
                    {
                        result.Add(new RepositoryObject(key + "/", 0, Directory.GetLastWriteTimeUtc(entry), new Dictionary<string, string>()));
                    }
                }
                else if (Path.GetFileName(entry) is { } name && name.StartsWith('.') && name.Contains(TempMarker, StringComparison.Ordinal) && key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    var info = new FileInfo(entry);
                    result.Add(new RepositoryObject(key, info.Length, info.LastWriteTimeUtc, new Dictionary<string, string>()));
                }
            }
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return Task.FromResult<IReadOnlyList<RepositoryObject>>(result);
    }

    private static RepositoryObject ToObject(string key, FileInfo info)
    {
        var meta = new Dictionary<string, string>();
        var metaFile = info.FullName + MetaSuffix;
        if (File.Exists(metaFile))
        {
            foreach (var line in File.ReadLines(metaFile))
            {
                var eq = line.IndexOf('=');
                if (eq > 0)
                {
                    meta[line[..eq]] = line[(eq + 1)..];
                }
            }
        }
        return new RepositoryObject(key, info.Length, info.LastWriteTimeUtc, meta);
    }

    private void EnsureDirectory(string dir)
    {
        if (Directory.Exists(dir))
        {
            return;
        }
        var parent = Path.GetDirectoryName(dir);
        if (parent is not null && !Directory.Exists(parent))
        {
            EnsureDirectory(parent);
        }
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure("create the directory", dir, e);
        }
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        GiveAway(dir);
    }

    private void GiveAway(string path)
    {
        if (owner is not null && Libc.IsRoot && owner.Uid != 0)
        {
            Libc.Chown(path, owner.Uid, owner.Gid);
        }
    }

    private static void FsyncDirectory(string dir)
    {
        var fd = SysOpen(dir, 0);
        if (fd >= 0)
        {
            SysFsync(fd);
            SysClose(fd);
        }
    }
}
