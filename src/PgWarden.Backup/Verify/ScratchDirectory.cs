using PgWarden.Postgres.Os;

namespace PgWarden.Backup.Verify;

/// <summary>
/// A new private directory (owned by the server OS user, mode 0700) for one verification, under
/// the scratch parent; it and everything in it are removed when disposed (and, should this process be
/// killed, by the next run: see <see cref="LocalStaging"/>).
/// </summary>
public sealed class ScratchDirectory : IDisposable
{
    private readonly Action<string> _output;

    private ScratchDirectory(string path, Action<string> output)
    {
        Path = path;
        _output = output;
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public static ScratchDirectory Create(string parent, OsUser owner, Action<string> output)
    {
        var full = System.IO.Path.GetFullPath(parent);
        if (!Directory.Exists(full))
        {
            throw new Core.Errors.PgWardenException(Core.Errors.ExitCodes.NotFound, $"scratch directory {full} does not exist");
        }
        var path = LocalStaging.NewPath(full, LocalStaging.Verify);
        DirectoryAccess.EnsureTraversable(System.IO.Path.Combine(path, "data"), owner);
        DirectoryAccess.CreatePrivate(path, owner);
        return new ScratchDirectory(path, output);
    }

    /// <summary>Free bytes on the file system holding the scratch directory.</summary>
    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _output($"  warning: could not remove the scratch directory {Path}: {e.Message}");
        }
    }
}
