using PgWarden.Core.Processes;

namespace PgWarden.Postgres.Os;

/// <summary>
/// The one reader of a data directory's <c>postmaster.pid</c>. Its first line is the postmaster's
/// PID — but a file left by a crash may name a PID the kernel has since given to another process, so
/// a PID counts as this data directory's postmaster only if that process runs in the data directory
/// (a postmaster's working directory is its data directory).
/// </summary>
public static class PostmasterPidFile
{
    public const string FileName = "postmaster.pid";

    /// <summary>The PID the file names, whatever runs under it now; null without a readable file.</summary>
    public static int? ReadPid(string dataDir)
    {
        var file = Path.Combine(dataDir, FileName);
        try
        {
            return File.Exists(file) && int.TryParse(File.ReadLines(file).FirstOrDefault()?.Trim(), out var pid) && pid > 0 ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The PID of the postmaster running on <paramref name="dataDir"/> now, or null (no file, a dead PID, or a recycled one).</summary>
    public static int? LivePostmaster(string dataDir)
    {
        if (ReadPid(dataDir) is not { } pid || !Libc.IsAlive(pid))
        {
            return null;
        }
        try
        {
            var cwd = new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget;
            return cwd is not null && Same(cwd, dataDir) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not allowed to look (not root, another user's process): its command line must at least be a postgres.
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline").Contains("postgres", StringComparison.Ordinal) ? pid : null;
            }
            catch (Exception inner) when (inner is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    private static bool Same(string a, string b) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)) == Path.TrimEndingDirectorySeparator(Path.GetFullPath(b));
}
