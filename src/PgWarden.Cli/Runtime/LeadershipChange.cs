using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Cli.Runtime;

/// <summary>Follows a requested switchover or failover from the outside (the agents' GET /cluster).</summary>
public static class LeadershipChange
{
    /// <summary>
    /// Waits until <paramref name="target"/> holds the lease and runs as primary; gives up at the
    /// timeout, or as soon as the agents dropped the request (it left the DCS without the target leading).
    /// Returns the last view seen.
    /// </summary>
    public static async Task<(bool Done, ClusterView? Last)> WaitForLeaderAsync(AgentApiClient api, string target, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        ClusterView? last = null;
        var seenRequest = false;
        while (true)
        {
            try
            {
                last = ClusterViewJson.Parse(await api.GetClusterAsync(ct, fresh: true));
                if (last.Leader?.Name == target && last.Members.TryGetValue(target, out var m) && m is { PostgresRunning: true, Role: NodeRole.Primary })
                {
                    return (true, last);
                }
                seenRequest |= last.Failover?.To == target;
                if (seenRequest && last.Failover is null && last.Leader?.Name is { } other && other != target)
                {
                    return (false, last);
                }
            }
            catch (Core.Errors.PgWardenException)
            {
                // Agents restart their PostgreSQL during the change; ask again.
            }
            if (DateTime.UtcNow > deadline)
            {
                return (false, last);
            }
            await Task.Delay(50, ct);
        }
    }

    /// <summary>One sentence on where things stand after a change that did not complete.</summary>
    public static string Outcome(ClusterView? view) =>
        view?.Leader?.Name is { } leader
            ? $"{leader} leads{(view.Members.TryGetValue(leader, out var m) && m.PostgresRunning ? "" : " (its PostgreSQL is not running yet)")}"
            : "no node leads right now (the agents keep deciding; see `pgwarden status`)";
}
