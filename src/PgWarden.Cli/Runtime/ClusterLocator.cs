using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// The one way every command finds and loads its cluster configuration: <see cref="ConfigDiscovery"/>'s order
/// (--config, --dir, PGWARDEN_CONFIG, /etc/pgwarden/cluster.yaml, ./cluster.yaml, the demo's).
/// </summary>
public static class ClusterLocator
{
    public const string DefaultDir = ConfigDiscovery.DemoDir;
    public const string ConfigFileName = ConfigDiscovery.ConfigFileName;

    /// <summary>Where the configuration is (or, when there is none anywhere, where `up` creates the demo's).</summary>
    public static ConfigLocation Find(string? config, string? dir) => ConfigDiscovery.ForThisProcess().Find(config, dir);

    /// <summary>The absolute path of the configuration file <see cref="Find"/> chooses.</summary>
    public static string ConfigPath(string? config, string? dir) => Find(config, dir).Path;

    /// <summary>Finds and loads the cluster configuration.</summary>
    /// <exception cref="PgWardenException">Exit code 3 (configuration): no file where the options or PGWARDEN_CONFIG point,
    /// or none in any well-known place (the message lists every place tried); the file is invalid (every problem listed).</exception>
    public static ClusterConfig Load(string? config, string? dir) => Load(Find(config, dir));

    /// <inheritdoc cref="Load(string?, string?)"/>
    public static ClusterConfig Load(ConfigLocation location)
    {
        if (!location.Exists)
        {
            throw new PgWardenException(ExitCodes.ConfigError, WhyMissing(location));
        }
        return ConfigLoader.LoadFile(location.Path);
    }

    /// <summary>The one line that says which file is missing and how it was looked for.</summary>
    public static string WhyMissing(ConfigLocation location) => location.Source switch
    {
        ConfigSource.ConfigOption => $"configuration file {location.Path} does not exist",
        ConfigSource.DirOption => $"no cluster in {Path.GetDirectoryName(location.Path)} (no {ConfigFileName}); create one with `pgwarden up` or pass --config FILE",
        ConfigSource.EnvironmentVariable => $"configuration file {location.Path} (from {ConfigDiscovery.EnvironmentVariable}) does not exist",
        _ => $"no cluster configuration found (tried: --config, --dir, {string.Join(", ", location.Tried)}); create one with `pgwarden up` or pass --config FILE",
    };
}
