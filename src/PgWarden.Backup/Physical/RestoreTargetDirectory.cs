using PgWarden.Core.Errors;

namespace PgWarden.Backup.Physical;

/// <summary>
/// The directories a restore writes into (the data directory and the tablespace destinations). Each
/// must be empty or new; while a restore runs each carries a marker file, removed when it succeeds. A
/// failed restore empties what it wrote; one that was killed leaves the marker, so a retry can tell
/// its debris from someone's data and clear it with --force (never anything without the marker).
/// </summary>
public sealed class RestoreTargetDirectory(IReadOnlyList<string> directories)
{
    public const string MarkerName = ".pgwarden-restore-incomplete";

    /// <summary>
    /// Refuses a directory that is a file or holds anything (exit 7), except an interrupted restore's
    /// debris with <paramref name="force"/>, which <paramref name="clear"/> removes (after stopping a
    /// server left running in it).
    /// </summary>
    public async Task PrepareAsync(bool force, Func<string, Task> stopServerIn, Action<string> output)
    {
        foreach (var dir in directories)
        {
            if (File.Exists(dir))
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, $"{dir} is a file, not a directory");
            }
            if (!Directory.Exists(dir) || !Directory.EnumerateFileSystemEntries(dir).Any())
            {
                continue;
            }
            if (!File.Exists(Path.Combine(dir, MarkerName)))
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, $"restore directory {dir} is not empty; refusing to restore into it (choose a new or empty directory)");
            }
            if (!force)
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"{dir} holds what an interrupted pgwarden restore left ({MarkerName}); run the restore again with --force to clear it, or choose another directory");
            }
            await stopServerIn(dir);
            Empty(dir);
            output($"  cleared the interrupted restore in {dir} (--force)");
        }
    }

    /// <summary>Marks every directory as a restore in progress (creating it when needed).</summary>
    public void Mark()
    {
        foreach (var dir in directories)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, MarkerName), $"pgwarden restore in progress since {DateTimeOffset.UtcNow:u} (PID {Environment.ProcessId})\n");
        }
    }

    /// <summary>The restore succeeded: the directories are the user's now.</summary>
    public void Complete()
    {
        foreach (var dir in directories)
        {
            File.Delete(Path.Combine(dir, MarkerName));
        }
    }

    /// <summary>The restore failed: removes everything in the directories (they were empty before it), never throws.</summary>
    public void Discard(Action<string> output)
    {
        foreach (var dir in directories.Where(Directory.Exists))
        {
            try
            {
                Empty(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                output($"  could not empty {dir} ({e.Message}); it keeps {MarkerName}, so `pgwarden restore --force` clears it");
            }
        }
    }

    private static void Empty(string dir)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
        {
            if (Directory.Exists(entry) && !new FileInfo(entry).Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }
}
