using PgWarden.Core.Processes;

namespace PgWarden.Postgres.Os;

/// <summary>
/// Removes files an earlier process of this user left behind in a shared directory such as /tmp — for
/// example the admin passfiles (<c>pgwarden-pgbouncer-*.pgpass</c>) that PgWarden versions before 2026-11
/// wrote there and deleted only when the call returned, so a process killed mid-call left the password on disk.
/// </summary>
public static class StaleOwnFiles
{
    /// <summary>
    /// Deletes the files in <paramref name="directory"/> matching <paramref name="pattern"/> (a
    /// <see cref="Directory.EnumerateFiles(string, string)"/> pattern) that are regular files — not symlinks,
    /// never followed — owned by this process's effective uid (also when it is root: another user's file is
    /// never touched) and last written more than <paramref name="olderThan"/> before <paramref name="nowUtc"/>
    /// (a younger one may belong to a call of another process that is still running). A file that vanishes or
    /// cannot be removed meanwhile is skipped. Returns the number deleted; never throws for one file.
    /// </summary>
    public static int Remove(string directory, string pattern, TimeSpan olderThan, DateTime nowUtc)
    {
        var removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, pattern, new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0 }).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (var path in candidates)
        {
            try
            {
                var info = new FileInfo(path);
                if (info.LinkTarget is not null || info.Attributes.HasFlag(FileAttributes.ReparsePoint)
                    || nowUtc - info.LastWriteTimeUtc <= olderThan
                    || new StatLite(path, followSymlinks: false).Uid != Libc.EffectiveUid)
                {
                    continue;
                }
                File.Delete(path);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone already, or not ours to delete.
            }
        }
        return removed;
    }
}
