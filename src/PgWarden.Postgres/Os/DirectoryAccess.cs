using PgWarden.Core.Errors;
using PgWarden.Core.Processes;

namespace PgWarden.Postgres.Os;

/// <summary>Creating directories for the server user and checking it can reach them.</summary>
public static class DirectoryAccess
{
    /// <summary>Creates <paramref name="path"/> (and parents) owned by <paramref name="owner"/> with mode 0700.</summary>
    public static void CreatePrivate(string path, OsUser owner)
    {
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (Libc.IsRoot)
        {
            Libc.Chown(path, owner.Uid, owner.Gid);
        }
    }

    /// <summary>Writes a file the server user owns, mode 0600.</summary>
    public static void WriteOwnedFile(string path, string content, OsUser owner)
    {
        Core.Security.SecureFile.WriteAllText(path, content);
        if (Libc.IsRoot)
        {
            Libc.Chown(path, owner.Uid, owner.Gid);
        }
    }

    /// <summary>
    /// Throws unless <paramref name="user"/> can traverse every directory above <paramref name="path"/>:
    /// PostgreSQL started as that user cannot otherwise open its own data directory.
    /// </summary>
    public static void EnsureTraversable(string path, OsUser user)
    {
        if (BlockingDirectory(path, user) is { } dir)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"PostgreSQL runs as OS user '{user.Name}', which cannot enter {dir}; choose a directory it can reach (--dir /var/lib/pgwarden/demo) or run: chmod o+x {dir}");
        }
    }

    /// <summary>The first directory above <paramref name="path"/> that <paramref name="user"/> cannot enter, or null.</summary>
    public static string? BlockingDirectory(string path, OsUser user)
    {
        if (!Libc.IsRoot || user.Uid == 0)
        {
            return null;
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        while (!string.IsNullOrEmpty(dir))
        {
            if (Directory.Exists(dir))
            {
                var mode = File.GetUnixFileMode(dir);
                var info = new StatLite(dir);
                var ok = info.Uid == user.Uid ? mode.HasFlag(UnixFileMode.UserExecute)
                    : info.Gid == user.Gid ? mode.HasFlag(UnixFileMode.GroupExecute)
                    : mode.HasFlag(UnixFileMode.OtherExecute);
                if (!ok)
                {
                    return dir;
                }
            }
            dir = Path.GetDirectoryName(dir);
        }
        return null;
    }

    /// <summary>The size in bytes of every file below <paramref name="dir"/> (unreadable entries count as 0).</summary>
    public static long SizeOf(DirectoryInfo dir)
    {
        try
        {
            return dir.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })
                .Sum(f => f.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
