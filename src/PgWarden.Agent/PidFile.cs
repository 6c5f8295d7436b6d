namespace PgWarden.Agent;

/// <summary>A daemon's PID file: written at start, removed at a clean exit.</summary>
public sealed class PidFile : IDisposable
{
    private readonly string _path;

    public PidFile(string path)
    {
        _path = path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, Environment.ProcessId + "\n");
    }

    public void Dispose()
    {
        if (File.Exists(_path) && File.ReadAllText(_path).Trim() == Environment.ProcessId.ToString())
        {
            File.Delete(_path);
        }
    }
}
