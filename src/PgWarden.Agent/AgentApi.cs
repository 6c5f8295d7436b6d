using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using PgWarden.Core.Api;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent;

/// <summary>
/// The agent's HTTP API. Read-only checks use Patroni's paths, so HAProxy and load-balancer health
/// checks written for Patroni work unchanged; the mutating calls need the cluster's API token
/// (Authorization: Bearer …, from the secrets file).
/// </summary>
public static class AgentApi
{
    public sealed record SwitchoverBody(string? Leader, string? Candidate);

    public static void Map(WebApplication app, NodeState state, AgentContext ctx)
    {
        IResult Status(bool ok) => Results.Json(Summary(state), Json.Options, statusCode: ok ? 200 : 503);

        app.MapGet("/health", () => Status(state.Current.PostgresRunning));
        app.MapGet("/node", () => Results.Json(state.Current, Json.Options));
        app.MapGet("/primary", () => Status(IsWritableLeader(state)));
        app.MapGet("/leader", () => Status(IsWritableLeader(state)));
        app.MapGet("/master", () => Status(IsWritableLeader(state)));
        app.MapGet("/read-write", () => Status(IsWritableLeader(state)));
        app.MapGet("/read-only", () => Status(state.Current.PostgresRunning));
        app.MapGet("/replica", (HttpRequest request) =>
        {
            var s = state.Current;
            var ok = s.IsStreamingReplica;
            if (ok && request.Query.TryGetValue("lag", out var lagText) && Core.Units.ByteSize.TryParse(lagText.ToString(), out var maxLag))
            {
                ok = LagBytes(state) is { } lag && lag <= maxLag;
            }
            return Status(ok);
        });
        app.MapGet("/cluster", () => state.View is { } v
            ? Results.Json(new { leader = v.Leader?.Name, config = v.Config, members = v.Members.Values.OrderBy(m => m.Name), failover = v.Failover, sync_standby = v.SyncStandby, last_leader_position = v.LastLeaderPosition, scheduled_backups = v.ScheduledBackups.Values.OrderBy(b => b.Kind, StringComparer.Ordinal) }, Json.Options)
            : Results.Json(new { error = "the DCS has not been read yet", dcs_error = state.Current.DcsError }, Json.Options, statusCode: 503));
        app.MapGet("/history", () => Results.Json(state.View?.History.ToArray() ?? [], Json.Options));

        app.MapPost("/switchover", async (HttpRequest request, SwitchoverBody body, CancellationToken ct) =>
            await Authorized(request, ctx, () => RequestAsync(ctx, state, "switchover", body.Leader, body.Candidate, ct)));
        app.MapPost("/failover", async (HttpRequest request, SwitchoverBody body, CancellationToken ct) =>
            await Authorized(request, ctx, () => RequestAsync(ctx, state, "failover", body.Leader, body.Candidate, ct)));
        app.MapPost("/pause", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, () => SetPausedAsync(ctx, state, true, ct)));
        app.MapPost("/resume", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, () => SetPausedAsync(ctx, state, false, ct)));
        app.MapPost("/reinit", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, () => Task.FromResult(state.RequestReinit()
                ? Results.Json(new { message = $"{ctx.Node.Name} will be re-cloned from the leader (its data directory is kept aside)" }, Json.Options, statusCode: 202)
                : Results.Json(new { error = $"{ctx.Node.Name} is not a replica of a running leader; only a replica can be re-initialised" }, Json.Options, statusCode: 409))));
    }

    private static object Summary(NodeState state)
    {
        var s = state.Current;
        return new { node = s.Name, role = s.Role, state = s.State, postgres_running = s.PostgresRunning, timeline = s.Timeline, leader = s.Leader, paused = s.Paused };
    }

    private static bool IsWritableLeader(NodeState state)
    {
        var s = state.Current;
        return s.PostgresRunning && s.Role == NodeRole.Primary && s.Leader == s.Name && s.LeaseExpiresAt > DateTimeOffset.UtcNow;
    }

    /// <summary>How far this replica is behind the leader's last published position.</summary>
    private static long? LagBytes(NodeState state)
    {
        var s = state.Current;
        var leader = state.View?.Leader?.Name;
        if (leader is null || state.View?.Members.GetValueOrDefault(leader) is not { WalPosition: { } leaderPos })
        {
            return null;
        }
        var mine = Lsn.ParseOrNull(s.ReplayLsn) ?? 0;
        return Math.Max(0, leaderPos - mine);
    }

    private static async Task<IResult> Authorized(HttpRequest request, AgentContext ctx, Func<Task<IResult>> action)
    {
        var header = request.Headers.Authorization.ToString();
        var expected = Encoding.UTF8.GetBytes("Bearer " + ctx.Secrets.ApiToken);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), expected))
        {
            return Results.Json(new { error = "missing or wrong API token (Authorization: Bearer <api_token from the secrets file>)" }, Json.Options, statusCode: 401);
        }
        try
        {
            return await action();
        }
        catch (DcsUnavailableException e)
        {
            return Results.Json(new { error = $"the DCS is unreachable: {e.Message}" }, Json.Options, statusCode: 503);
        }
    }

    /// <summary>Validates a switchover/failover against the current view and records it in the DCS for the agents to carry out.</summary>
    private static async Task<IResult> RequestAsync(AgentContext ctx, NodeState state, string kind, string? leader, string? candidate, CancellationToken ct)
    {
        var view = await ctx.Dcs.ReadAsync(ct);
        var error = SwitchoverRules.Validate(kind, view, ctx.Cluster.Nodes.Select(n => n.Name).ToList(), leader, candidate);
        if (error is not null)
        {
            return Results.Json(new { error }, Json.Options, statusCode: 412);
        }
        var target = candidate ?? SwitchoverRules.BestCandidate(view, view.Leader?.Name)!;
        await ctx.Dcs.RequestFailoverAsync(new FailoverRequest(kind, view.Leader?.Name, target, DateTimeOffset.UtcNow), ct);
        state.Wake();
        return Results.Json(new { message = $"{kind} to {target} requested", from = view.Leader?.Name, to = target }, Json.Options, statusCode: 202);
    }

    private static async Task<IResult> SetPausedAsync(AgentContext ctx, NodeState state, bool paused, CancellationToken ct)
    {
        var view = await ctx.Dcs.ReadAsync(ct);
        await ctx.Dcs.WriteConfigAsync(view.Config with { Paused = paused }, ct);
        return Results.Json(new { paused, message = paused ? "automatic failover is paused" : "automatic failover is resumed" }, Json.Options);
    }
}
