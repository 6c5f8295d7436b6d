using PgWarden.Core.Errors;

namespace PgWarden.Agent;

/// <summary>
/// A daemon's claim on what it runs (a node, a pooler, the embedded etcd): an exclusive lock on
/// <c>&lt;name&gt;.lock</c> (flock, through .NET's FileShare.None) taken before anything else is
/// touched, then the PID file. A second daemon for the same thing fails with one line naming the
/// running PID; the PID file is removed at exit only by the process it names.
/// </summary>
public sealed class PidFile : IDisposable
{
    private readonly string _path;
    private readonly FileStream _lock;

    private PidFile(string path, FileStream lockStream)
    {
        _path = path;
        _lock = lockStream;
        File.WriteAllText(path, Environment.ProcessId + "\n");
    }

    /// <summary>Takes the lock next to <paramref name="pidFile"/> and writes it; throws AlreadyRunning (exit 4) naming the holder's PID when another process has it.</summary>
    public static PidFile Acquire(string pidFile, string what)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(pidFile)!);
        var lockFile = Path.ChangeExtension(pidFile, ".lock");
        try
        {
            var stream = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new PidFile(pidFile, stream);
        }
        catch (IOException)
        {
            var holder = File.Exists(pidFile) ? File.ReadAllText(pidFile).Trim() : "unknown";
            throw new PgWardenException(ExitCodes.AlreadyRunning, $"{what} is already running (PID {holder}, lock {lockFile}); not starting a second one");
        }
    }

    /// <summary>
    /// Removes the PID file if it still names this process. In a directory this process may not write
    /// (the embedded etcd's unit runs as user etcd in the root-owned cluster directory, its PID file made
    /// for it by a tmpfiles.d rule) the file is emptied instead: nobody reads a PID from it any more.
    /// </summary>
    public void Dispose()
    {
        try
        {
            if (File.Exists(_path) && File.ReadAllText(_path).Trim() == Environment.ProcessId.ToString())
            {
                try
                {
                    File.Delete(_path);
                }
                catch (UnauthorizedAccessException)
                {
                    File.WriteAllText(_path, "");
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone meanwhile, or not ours to change: the lock below is what counts.
        }
        _lock.Dispose();
    }
}
