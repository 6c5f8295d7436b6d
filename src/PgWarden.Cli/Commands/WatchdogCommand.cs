using System.Runtime.InteropServices;
using PgWarden.Agent;
using PgWarden.Agent.Watchdog;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;
using PgWarden.Dcs;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden watchdog --node NAME [--config FILE]`: the fence process an agent starts for its node and feeds on its
/// standard input (<see cref="FenceWatchdog"/>). Not for users. It ignores SIGINT and SIGTERM (a
/// Ctrl+C or a stop of the agent's process group must not take the fence away while the agent
/// still runs); it ends when its input closes, or by SIGKILL.
/// </summary>
public static class WatchdogCommand
{
    /// <summary>Runs the watchdog when <paramref name="args"/> ask for it (parsed here, before the full command tree loads); null otherwise.</summary>
    public static Func<Task<int>>? TryParse(string[] args)
    {
        string? node, config = null;
        switch (args)
        {
            case ["watchdog", "--node", { Length: > 0 } n]:
                node = n;
                break;
            case ["watchdog", "--node", { Length: > 0 } n, "--config", { Length: > 0 } c]:
                node = n;
                config = c;
                break;
            default:
                return null;
        }
        return async () =>
        {
            using var ignoreInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
            using var ignoreTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true);
            Console.Out.Flush();
            // With the cluster's configuration it may release the fenced node's lease (its own DCS client, made up front).
            var cluster = config is null ? null : ConfigLoader.LoadFile(config);
            await using var dcs = cluster is null ? null : WatchdogDcs(cluster, node);
            Func<long, Task<bool>>? release = dcs is null ? null : lease => dcs.ReleaseLeaderLeaseAsync(node, lease, CancellationToken.None);
            return await new FenceWatchdog(Console.In, Console.Out, Console.Error, ProcessTree.KillTree, release).RunAsync(CancellationToken.None);
        };
    }

    /// <summary>The watchdog's own DCS client; a certificate it cannot read costs the release of the lease, never the fence.</summary>
    private static EtcdDcs? WatchdogDcs(Core.Config.ClusterConfig cluster, string node)
    {
        try
        {
            return new EtcdDcs(cluster.Name, cluster.Dcs.Endpoints, localAddress: cluster.Node(node).Address,
                credentials: WatchdogCredentials(cluster), tls: cluster.Dcs.ClientTls(node));
        }
        catch (Core.Errors.ConfigException e)
        {
            Console.Error.WriteLine($"pgwarden watchdog: no DCS client, so a fence cannot release the lease early: {e.Message}");
            return null;
        }
    }

    /// <summary>The agent's etcd user; a secrets file it cannot read costs the release of the lease, never the fence.</summary>
    private static Core.Dcs.DcsCredentials? WatchdogCredentials(Core.Config.ClusterConfig cluster)
    {
        try
        {
            return DcsCredentialsSource.Resolve(cluster, ClusterSecrets.Load(cluster.SecretsFile), readOnly: false);
        }
        catch (PgWardenException)
        {
            return null;
        }
    }
}
