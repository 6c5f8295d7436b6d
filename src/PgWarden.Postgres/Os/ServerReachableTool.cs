namespace PgWarden.Postgres.Os;

/// <summary>
/// PostgreSQL runs archive_command / restore_command (`pgwarden wal-push` / `wal-fetch`) as the
/// server user. When that user cannot reach this program (it was built in a private directory such
/// as /root or a 0700 temp directory), a copy of the program's directory is kept under
/// <c>&lt;cluster dir&gt;/tool</c>, which the server user can reach, and that copy is used.
/// </summary>
public static class ServerReachableTool
{
    /// <summary>Where <see cref="Resolve"/> puts <paramref name="program"/> for <paramref name="user"/>, without copying anything.</summary>
    public static string Where(string program, OsUser user, string clusterDir) =>
        DirectoryAccess.BlockingDirectory(program, user) is null
            ? program
            : Path.Combine(clusterDir, "tool", Path.GetFileName(program));

    /// <summary>A path to <paramref name="program"/> that <paramref name="user"/> can execute (a copy under the cluster directory when needed).</summary>
    public static string Resolve(string program, OsUser user, string clusterDir)
    {
        if (DirectoryAccess.BlockingDirectory(program, user) is null)
        {
            return program;
        }
        var source = Path.GetDirectoryName(Path.GetFullPath(program))!;
        var target = Path.Combine(clusterDir, "tool");
        var stamp = Stamp(source);
        var stampFile = Path.Combine(target, ".pgwarden-build");
        // Agents of one machine start together: one copies, the others wait and find it done.
        using var lockFile = OpenLock(target + ".lock");
        if (!File.Exists(stampFile) || File.ReadAllText(stampFile) != stamp)
        {
            // Copied beside the target and renamed into place, so a running wal-push never sees a half copy.
            var staging = $"{target}.new-{Environment.ProcessId}";
            CopyDirectory(source, staging);
            File.WriteAllText(Path.Combine(staging, ".pgwarden-build"), stamp);
            if (Directory.Exists(target))
            {
                var old = $"{target}.old-{Environment.ProcessId}";
                Directory.Move(target, old);
                Directory.Move(staging, target);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(staging, target);
            }
        }
        return Path.Combine(target, Path.GetFileName(program));
    }

    private static FileStream OpenLock(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Names, sizes and times of the program's files: a rebuilt program gets a new copy.</summary>
    private static string Stamp(string dir) => string.Join('\n', Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(f => new FileInfo(f))
        .Select(f => $"{Path.GetRelativePath(dir, f.FullName)} {f.Length} {f.LastWriteTimeUtc.Ticks}"));

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        File.SetUnixFileMode(to, (UnixFileMode)0b111_101_101);
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: false);
        }
    }
}
