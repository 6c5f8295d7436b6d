namespace PgWarden.Core.Security;

/// <summary>
/// Writes files that hold secrets: created 0600 before any byte is written, replaced atomically. The
/// temporary file is always a new one (O_EXCL, which also refuses a symlink): a file or symlink left or
/// planted under its name is removed first, never written through.
/// </summary>
public static class SecureFile
{
    public static void WriteAllText(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var tmp = path + ".tmp-" + Environment.ProcessId;
        File.Delete(tmp);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(tmp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, path, overwrite: true);
    }
}
