using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Runtime;

/// <summary>Polls the agents' GET /cluster until a condition on the cluster holds (day-2 commands wait for restarts and reloads this way).</summary>
public static class MemberWait
{
    /// <summary>
    /// Returns the first view for which <paramref name="done"/> holds; throws Timeout (9) with
    /// <paramref name="what"/> and the last state seen when it does not within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<ClusterView> UntilAsync(AgentApiClient api, TimeSpan timeout, string what, Func<ClusterView, bool> done, Func<ClusterView?, string> describe, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        ClusterView? last = null;
        while (true)
        {
            try
            {
                last = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
                if (done(last))
                {
                    return last;
                }
            }
            catch (PgWardenException) when (DateTime.UtcNow <= deadline)
            {
                // An agent restarting its PostgreSQL may not answer for a moment: ask again.
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"timed out after {timeout.TotalSeconds:0} s waiting for {what} ({describe(last)})");
            }
            await Task.Delay(100, ct);
        }
    }

    /// <summary>One phrase for a member's state ("pg2: streaming", "pg3: not running").</summary>
    public static string State(ClusterView? view, string node) =>
        view?.Members.GetValueOrDefault(node) is { } m ? $"{node}: {m.State}" : $"{node}: no member key (agent down?)";
}
