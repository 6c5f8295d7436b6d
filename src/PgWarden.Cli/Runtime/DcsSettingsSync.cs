using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// The `dcs:` settings of the configuration file (ttl, loop_wait, maximum_lag_on_failover,
/// synchronous_mode) are the cluster's dynamic settings, kept in the DCS. `up` brings a running
/// cluster to the file's values (through an agent's PATCH /config, which checks them) and says what
/// it changed; `status` reports a difference it has not applied.
/// </summary>
public static class DcsSettingsSync
{
    /// <summary>Applies the file's values where the cluster differs; returns the changes made ("ttl 10 → 20"), empty when none.</summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(ClusterConfig cluster, CancellationToken ct)
    {
        var api = new AgentApiClient(cluster, ClusterSecrets.Load(cluster.SecretsFile));
        var running = ClusterViewJson.Parse(await api.GetClusterAsync(ct)).Config;
        var wanted = cluster.Dcs.Initial;
        var changes = DcsConfigRules.Differences(running, wanted);
        if (changes.Count > 0)
        {
            await api.SendAsync(HttpMethod.Patch, "/config", new
            {
                ttl = wanted.Ttl,
                loop_wait = wanted.LoopWait,
                maximum_lag_on_failover = wanted.MaximumLagOnFailover,
                synchronous_mode = wanted.SynchronousMode,
            }, null, ct);
        }
        return changes;
    }
}
