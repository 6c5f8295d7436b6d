using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Tuning;
using PgWarden.Core.Units;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// The hardware `pgwarden tune` computes for: each of --ram, --cpus, --storage, --connections when given;
/// otherwise the cluster's (its <c>hardware:</c> section and <c>postgres.max_connections</c>, as the agent
/// renders postgresql.conf with); otherwise this host's and 200 connections.
/// </summary>
public static class TuneProfile
{
    /// <param name="cluster">The cluster found by <see cref="ClusterLocator"/>, or null when there is none.</param>
    /// <param name="host">This host's RAM, CPUs and storage (read only when needed).</param>
    /// <exception cref="PgWardenException">Exit 2 (usage): a value out of range.</exception>
    public static HardwareProfile Resolve(ClusterConfig? cluster, string? ram, int? cpus, int? connections, string? storage, Func<HardwareProfile> host)
    {
        var hints = cluster?.Hardware;
        var lazyHost = new Lazy<HardwareProfile>(host);
        long ramBytes = hints?.RamBytes ?? 0;
        if (ram is not null)
        {
            if (!ByteSize.TryParse(ram, out ramBytes) || ramBytes < 256 * ByteSize.MB || ramBytes > 64 * ByteSize.TB)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--ram: '{ram}' is not a memory size between 256MB and 64TB (e.g. 16GB)");
            }
        }
        else if (hints is null)
        {
            ramBytes = lazyHost.Value.RamBytes;
        }
        var cpuCount = cpus ?? hints?.Cpus ?? lazyHost.Value.Cpus;
        if (cpuCount is < 1 or > 1024)
        {
            throw new PgWardenException(ExitCodes.Usage, $"--cpus: {cpuCount} is out of range (1..1024)");
        }
        var conns = connections ?? cluster?.Postgres.MaxConnections ?? 200;
        if (conns is < 10 or > 10000)
        {
            throw new PgWardenException(ExitCodes.Usage, $"--connections: {conns} is out of range (10..10000)");
        }
        var kind = storage is null
            ? hints?.Storage ?? lazyHost.Value.Storage
            : ConfigLoader.ParseStorage(storage) ?? throw new PgWardenException(ExitCodes.Usage, $"--storage: '{storage}' must be one of ssd, hdd, san");
        return new HardwareProfile(ramBytes, cpuCount, kind, conns);
    }

    /// <summary>
    /// The cluster `tune` reads: the one the options, PGWARDEN_CONFIG or a well-known place name; null when
    /// nothing names one and no well-known place has one (tune then describes this host).
    /// </summary>
    /// <exception cref="PgWardenException">Exit 3: an explicitly named file is missing or invalid.</exception>
    public static ClusterConfig? Cluster(ConfigLocation location) =>
        location.Source == ConfigSource.NotFound ? null : ClusterLocator.Load(location);
}
