namespace PgWarden.Cli.Runtime;

/// <summary>
/// Where a command finds its cluster configuration, the same for every command (issue 12 item 6,
/// issue 13 item 6): <c>--config FILE</c>, else <c>--dir DIR</c> (DIR/cluster.yaml), else the file named by
/// <c>PGWARDEN_CONFIG</c>, else <c>/etc/pgwarden/cluster.yaml</c>, else <c>./cluster.yaml</c>, else the demo's
/// <c>./.pgwarden/demo/cluster.yaml</c>. An explicit choice (an option or the variable) is the answer even
/// when its file is missing — falling through to another cluster's file (the demo's, say) would act on the
/// wrong cluster; the three well-known places are taken only when their file exists.
/// </summary>
public sealed class ConfigDiscovery
{
    public const string EnvironmentVariable = "PGWARDEN_CONFIG";
    public const string ConfigFileName = "cluster.yaml";
    public const string DemoDir = ".pgwarden/demo";
    public const string SystemConfigPath = "/etc/pgwarden/cluster.yaml";

    private readonly Func<string, string?> _environment;
    private readonly Func<string, bool> _fileExists;
    private readonly string _currentDirectory;
    private readonly string _systemConfigPath;

    /// <summary>The seam for tests: the environment, the file system and /etc's place are injected.</summary>
    internal ConfigDiscovery(Func<string, string?> environment, Func<string, bool> fileExists, string currentDirectory, string systemConfigPath)
    {
        _environment = environment;
        _fileExists = fileExists;
        _currentDirectory = currentDirectory;
        _systemConfigPath = systemConfigPath;
    }

    /// <summary>This process's environment, file system and current directory.</summary>
    public static ConfigDiscovery ForThisProcess() =>
        new(Environment.GetEnvironmentVariable, File.Exists, Environment.CurrentDirectory, SystemConfigPath);

    /// <summary>Resolves the configuration file from the command line's <paramref name="config"/> and <paramref name="dir"/> (either may be null).</summary>
    public ConfigLocation Find(string? config, string? dir)
    {
        if (!string.IsNullOrEmpty(config))
        {
            return Explicit(Full(config), ConfigSource.ConfigOption);
        }
        if (!string.IsNullOrEmpty(dir))
        {
            return Explicit(Full(Path.Combine(dir, ConfigFileName)), ConfigSource.DirOption);
        }
        if (_environment(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return Explicit(Full(fromEnvironment), ConfigSource.EnvironmentVariable);
        }
        var tried = new List<string> { $"{EnvironmentVariable} (not set)" };
        foreach (var (path, source) in new[]
        {
            (_systemConfigPath, ConfigSource.SystemFile),
            (Full(ConfigFileName), ConfigSource.CurrentDirectory),
            (Full(Path.Combine(DemoDir, ConfigFileName)), ConfigSource.Demo),
        })
        {
            if (_fileExists(path))
            {
                return new ConfigLocation(path, source, true, tried);
            }
            tried.Add(path);
        }
        return new ConfigLocation(Full(Path.Combine(DemoDir, ConfigFileName)), ConfigSource.NotFound, false, tried);
    }

    private ConfigLocation Explicit(string path, ConfigSource source) => new(path, source, _fileExists(path), [path]);

    private string Full(string path) => Path.GetFullPath(path, _currentDirectory);
}

/// <summary>Which rule of <see cref="ConfigDiscovery"/> chose the file.</summary>
public enum ConfigSource
{
    ConfigOption,
    DirOption,
    EnvironmentVariable,
    SystemFile,
    CurrentDirectory,
    Demo,

    /// <summary>No file anywhere: <see cref="ConfigLocation.Path"/> is where `up` creates the demo's.</summary>
    NotFound,
}

/// <summary>The configuration file a command uses, how it was chosen, whether it exists, and every place looked at.</summary>
public sealed record ConfigLocation(string Path, ConfigSource Source, bool Exists, IReadOnlyList<string> Tried);
