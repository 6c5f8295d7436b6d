using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Runtime;

/// <summary>Finds the cluster configuration: --config FILE, else DIR/cluster.yaml (DIR from --dir, default ./.pgwarden/demo).</summary>
public static class ClusterLocator
{
    public const string DefaultDir = ".pgwarden/demo";
    public const string ConfigFileName = "cluster.yaml";

    public static string ConfigPath(string? config, string? dir) =>
        Path.GetFullPath(config ?? Path.Combine(dir ?? DefaultDir, ConfigFileName));

    public static ClusterConfig Load(string? config, string? dir)
    {
        var path = ConfigPath(config, dir);
        if (!File.Exists(path))
        {
            throw new PgWardenException(ExitCodes.ConfigError, config is not null
                ? $"configuration file {path} does not exist"
                : $"no cluster in {Path.GetDirectoryName(path)} (no {ConfigFileName}); create one with `pgwarden up` or pass --config FILE");
        }
        return ConfigLoader.LoadFile(path);
    }
}
