using System.Runtime.InteropServices;
using PgWarden.Postgres.Os;
using PgWarden.Core.Processes;

namespace PgWarden.Backup.Repository;

/// <summary>
/// A repository in a local (or mounted) directory. Each object is written to a hidden temp file,
/// fsynced, then hard-linked to its name — link(2) fails if the name exists, so nothing is ever
/// replaced — and the directory is fsynced. Metadata sits in a <c>KEY.meta</c> sidecar
/// (<c>name=value</c> lines), written the same way right after the object. When PgWarden runs as
/// root, directories and files are given to <paramref name="owner"/> (the postgres OS user runs wal-push).
/// </summary>
public sealed partial class FsRepository(string root, OsUser? owner) : IBackupRepository
{
    private const string MetaSuffix = ".meta";

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
        var temp = Path.Combine(dir, $".{Path.GetFileName(final)}.tmp-{Guid.NewGuid():N}");
        var metaTemp = temp + MetaSuffix;
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                await content.CopyToAsync(file, 1 << 20, cancellationToken);
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }
            await using (var meta = new FileStream(metaTemp, FileMode.CreateNew, FileAccess.Write))
            await using (var writer = new StreamWriter(meta))
            {
                foreach (var (k, v) in metadata)
                {
                    await writer.WriteLineAsync($"{k.ToLowerInvariant()}={v}");
                }
                await writer.FlushAsync(cancellationToken);
                meta.Flush(flushToDisk: true);
            }
            GiveAway(temp);
            GiveAway(metaTemp);
            if (SysLink(temp, final) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EEXIST)
                {
                    return false;
                }
                throw new IOException($"cannot store {final} (errno {errno})");
            }
            File.Move(metaTemp, final + MetaSuffix, overwrite: true);
            FsyncDirectory(dir);
            return true;
        }
        finally
        {
            File.Delete(temp);
            File.Delete(metaTemp);
        }
    }

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
        File.Delete(path);
        File.Delete(path + MetaSuffix);
        return Task.CompletedTask;
    }

    public Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        if (!prefix.EndsWith('/'))
        {
            throw new ArgumentException($"repository prefix '{prefix}' must end with '/'", nameof(prefix));
        }
        var path = PathOf(prefix.TrimEnd('/'));
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
            FsyncDirectory(Path.GetDirectoryName(path)!);
        }
        return Task.CompletedTask;
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
        Directory.CreateDirectory(dir);
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
