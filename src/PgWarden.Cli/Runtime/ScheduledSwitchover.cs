using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// `switchover --at TIME` and `switchover --cancel`: the request is stored in the DCS `failover` key
/// with its time (Patroni's scheduled_at) and carried out by the leader's agent when the time comes
/// — without this command running, so PgBouncers are not paused for it (clients may see a failed
/// transaction, as with Patroni). The target is chosen now (the best replica, or --to); the agents
/// still check it at the time and drop the request if it cannot complete within the timeout.
/// </summary>
public static class ScheduledSwitchover
{
    public static async Task<int> ScheduleAsync(ClusterConfig cluster, Func<AgentApiClient> connect, string timeText, string? to, int timeoutSeconds, Confirmation confirmation, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var at = ScheduleTime.Parse(timeText, now)
            ?? throw new PgWardenException(ExitCodes.Usage, $"--at '{timeText}' is not a time: give an ISO 8601 time (2026-12-01T02:30:00Z) or a delay (+10m)");
        if (at <= now)
        {
            throw new PgWardenException(ExitCodes.Usage, $"--at {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC is in the past");
        }
        var api = connect();
        var view = ClusterViewJson.Parse(await api.GetClusterAsync(ct));
        var nodes = cluster.Nodes.Select(n => n.Name).ToList();
        if (SwitchoverRules.Validate(FailoverKind.Switchover, view, nodes, null, to, now) is { } refusal)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"switchover refused: {refusal}");
        }
        var leader = view.Leader!.Name;
        var target = to ?? SwitchoverRules.BestCandidate(view, leader, nodes)!;
        confirmation.Ask($"Schedule a switchover from {leader} to {target} at {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC?");
        await api.PostAsync("/switchover", new { leader, candidate = target, timeout = timeoutSeconds, scheduled_at = at }, cluster.Node(leader), ct);
        Console.WriteLine($"switchover from {leader} to {target} scheduled at {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC (in {(at - now).TotalSeconds:0} s); `pgwarden status` shows it, `pgwarden switchover --cancel` removes it");
        return 0;
    }

    public static async Task<int> CancelAsync(AgentApiClient api, CancellationToken ct)
    {
        try
        {
            var answer = await api.SendAsync(HttpMethod.Delete, "/switchover", null, null, ct);
            Console.WriteLine(answer.GetProperty("message").GetString());
            return 0;
        }
        catch (PgWardenException e) when (e.Message.Contains("no switchover is scheduled", StringComparison.Ordinal))
        {
            throw new PgWardenException(ExitCodes.NotFound, "no switchover is scheduled");
        }
    }
}
