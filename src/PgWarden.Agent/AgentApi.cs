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
    /// <param name="Timeout">Seconds the request has to complete (default 30); after that every agent ignores it.</param>
    /// <param name="ScheduledAt">A scheduled switchover: carried out by the leader at this time (Patroni's scheduled_at); null: at once.</param>
    public sealed record SwitchoverBody(string? Leader, string? Candidate, int? Timeout = null, DateTimeOffset? ScheduledAt = null);

    /// <summary>How far ahead a switchover may be scheduled.</summary>
    public static readonly TimeSpan MaxScheduleAhead = TimeSpan.FromDays(7);

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
        // The view of the agent's last cycle (up to loop_wait old); ?fresh=true reads the DCS now (what
        // a switchover waits on), falling back to the last cycle's view when the DCS does not answer.
        app.MapGet("/cluster", async (HttpRequest request, CancellationToken ct) =>
            (request.Query.TryGetValue("fresh", out var fresh) && fresh == "true" ? await FreshViewAsync(ctx, state, ct) : state.View) is { } v
            ? Results.Json(new { leader = v.Leader?.Name, config = v.Config, members = v.Members.Values.OrderBy(m => m.Name), failover = v.Failover, sync_standby = v.SyncStandby, optime = v.Optime, history = v.History.ToArray(), initialize = v.Initialize, scheduled_backups = v.ScheduledBackups.Values.OrderBy(b => b.Kind, StringComparer.Ordinal) }, Json.Options)
            : Results.Json(new { error = "the DCS has not been read yet", dcs_error = state.Current.DcsError }, Json.Options, statusCode: 503));
        app.MapGet("/history", () => Results.Json(state.View?.History.ToArray() ?? [], Json.Options));

        app.MapPost("/switchover", async (HttpRequest request, SwitchoverBody body, CancellationToken ct) =>
            await Authorized(request, ctx, () => RequestAsync(ctx, state, FailoverKind.Switchover, body, ct)));
        app.MapPost("/failover", async (HttpRequest request, SwitchoverBody body, CancellationToken ct) =>
            await Authorized(request, ctx, () => RequestAsync(ctx, state, FailoverKind.Failover, body, ct)));
        app.MapPatch("/config", async (HttpRequest request, DcsConfigPatch body, CancellationToken ct) =>
            await Authorized(request, ctx, () => PatchConfigAsync(ctx, state, body, ct)));
        app.MapDelete("/switchover", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, () => CancelScheduledAsync(ctx, state, ct)));
        app.MapPost("/restart", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, () => Task.FromResult(state.RequestRestart() is { } why
                ? Results.Json(new { error = $"restart of {ctx.Node.Name} refused: {why}" }, Json.Options, statusCode: 409)
                : Results.Json(new { message = $"{ctx.Node.Name} restarts now (fast shutdown)" }, Json.Options, statusCode: 202))));
        app.MapPost("/reload", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, async () =>
            {
                var reload = state.RequestReloadAsync();
                var done = await Task.WhenAny(reload, Task.Delay(TimeSpan.FromSeconds(20), ct));
                var outcome = done == reload ? await reload : ReloadOutcome.Failed("the agent did not get to the reload within 20 s (it is busy; it reloads when its current action ends)");
                return outcome.Error is null
                    ? Results.Json(new { node = ctx.Node.Name, reloaded = true, pending_restart = outcome.PendingRestart, config_errors = outcome.ConfigErrors }, Json.Options)
                    : Results.Json(new { error = $"reload of {ctx.Node.Name} not done: {outcome.Error}" }, Json.Options, statusCode: 409);
            }));
        app.MapPost("/pause", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, () => SetPausedAsync(ctx, state, true, ct)));
        app.MapPost("/resume", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, () => SetPausedAsync(ctx, state, false, ct)));
        app.MapPost("/reinit", async (HttpRequest request, CancellationToken ct) =>
            await Authorized(request, ctx, async () =>
            {
                if (Eligibility.WhyNotSetAside(await ctx.Dcs.ReadAsync(ct), ctx.Node.Name) is { } unsafeToReinit)
                {
                    return Results.Json(new { error = $"reinit of {ctx.Node.Name} refused: {unsafeToReinit}" }, Json.Options, statusCode: 409);
                }
                return state.RequestReinit()
                    ? Results.Json(new { message = $"{ctx.Node.Name} will be re-cloned from the leader (its data directory is kept aside)" }, Json.Options, statusCode: 202)
                    : Results.Json(new { error = $"{ctx.Node.Name} is not a replica of a running leader; only a replica can be re-initialised" }, Json.Options, statusCode: 409);
            }));
    }

    private static object Summary(NodeState state)
    {
        var s = state.Current;
        return new { node = s.Name, role = s.Role, state = s.State, postgres_running = s.PostgresRunning, timeline = s.Timeline, leader = s.Leader, paused = s.Paused };
    }

    private static async Task<ClusterView?> FreshViewAsync(AgentContext ctx, NodeState state, CancellationToken ct)
    {
        try
        {
            return await ctx.Dcs.ReadAsync(ct);
        }
        catch (DcsUnavailableException)
        {
            return state.View;
        }
    }

    private static bool IsWritableLeader(NodeState state)
    {
        var s = state.Current;
        return s.PostgresRunning && s.Role == NodeRole.Primary && s.Leader == s.Name && state.LeaseRemaining() is not null;
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
        var header = Encoding.UTF8.GetBytes(request.Headers.Authorization.ToString());
        // This node's own token (docs/secrets.md), or the cluster's master token where the host has it.
        var accepted = ctx.Secrets.AcceptedApiTokens(ctx.Node.Name)
            .Aggregate(false, (ok, token) => CryptographicOperations.FixedTimeEquals(header, Encoding.UTF8.GetBytes("Bearer " + token)) | ok);
        if (!accepted)
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

    /// <summary>
    /// Validates a switchover/failover against the current view (the same rules the agents apply,
    /// also while paused) and records it in the DCS with its deadline for the agents to carry out.
    /// </summary>
    private static async Task<IResult> RequestAsync(AgentContext ctx, NodeState state, FailoverKind kind, SwitchoverBody body, CancellationToken ct)
    {
        if (body.Timeout is < 1 or > 3600)
        {
            return Results.Json(new { error = $"timeout must be 1..3600 seconds, not {body.Timeout}" }, Json.Options, statusCode: 400);
        }
        var view = await ctx.Dcs.ReadAsync(ct);
        if (view.Leader?.Name == ctx.Node.Name && state.Current is { Role: NodeRole.Primary, PostgresRunning: true } self)
        {
            // The leader's own snapshot of its replicas' lag, not positions published up to loop_wait apart.
            view = SwitchoverRules.WithMeasuredLag(view, SwitchoverRules.MeasuredFlushLag(self.Replicas.Select(r => (r.ApplicationName, (string?)r.State, r.FlushLagBytes))));
        }
        var nodes = ctx.Cluster.Nodes.Select(n => n.Name).ToList();
        var now = DateTimeOffset.UtcNow;
        if (body.ScheduledAt is { } at && (kind != FailoverKind.Switchover || at <= now || at > now + MaxScheduleAhead))
        {
            return Results.Json(new { error = kind != FailoverKind.Switchover ? "only a switchover can be scheduled"
                : $"scheduled_at must be in the future and at most {MaxScheduleAhead.TotalDays:0} days ahead, not {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC" }, Json.Options, statusCode: 400);
        }
        var error = SwitchoverRules.Validate(kind, view, nodes, body.Leader, body.Candidate, now);
        if (error is not null)
        {
            return Results.Json(new { error }, Json.Options, statusCode: 412);
        }
        var target = body.Candidate ?? SwitchoverRules.BestCandidate(view, view.Leader?.Name, nodes)!;
        var start = body.ScheduledAt ?? now;
        var request = new FailoverRequest(kind, view.Leader?.Name, target, now)
        {
            ScheduledAt = body.ScheduledAt,
            Deadline = start + TimeSpan.FromSeconds(body.Timeout ?? (int)FailoverRequest.DefaultTimeout.TotalSeconds),
        };
        await ctx.Dcs.RequestFailoverAsync(request, ct);
        state.Wake();
        return Results.Json(new { message = $"{request.Describe()} requested", from = view.Leader?.Name, to = target, deadline = request.Deadline, scheduled_at = request.ScheduledAt }, Json.Options, statusCode: 202);
    }

    /// <summary>Removes a scheduled switchover whose time has not come (one under way is not interrupted).</summary>
    private static async Task<IResult> CancelScheduledAsync(AgentContext ctx, NodeState state, CancellationToken ct)
    {
        var view = await ctx.Dcs.ReadAsync(ct);
        var now = DateTimeOffset.UtcNow;
        if (view.Failover is not { } pending || !pending.IsActive(now))
        {
            return Results.Json(new { error = "no switchover is scheduled" }, Json.Options, statusCode: 404);
        }
        if (!pending.IsWaiting(now))
        {
            return Results.Json(new { error = $"the {pending.Describe()} is already under way and cannot be cancelled (it completes or is dropped by {pending.ExpiresAt.UtcDateTime:HH:mm:ss} UTC)" }, Json.Options, statusCode: 409);
        }
        await ctx.Dcs.ClearFailoverAsync(ct);
        state.Wake();
        return Results.Json(new { message = $"{pending.Describe()} cancelled" }, Json.Options);
    }

    /// <summary>The dynamic settings that may change after creation (Patroni's PATCH /config); absent fields stay.</summary>
    [System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
    /// <param name="Parameters">PostgreSQL parameters to set cluster-wide (a null value removes one), merged into those in the DCS.</param>
    public sealed record DcsConfigPatch(int? Ttl, int? LoopWait, long? MaximumLagOnFailover, bool? SynchronousMode, Dictionary<string, string?>? Parameters = null);

    /// <summary>
    /// Applies the patch to the config as stored at the moment of writing (compare-and-swap,
    /// <see cref="IDcs.UpdateConfigAsync"/>): two concurrent patches of different fields both land.
    /// </summary>
    private static async Task<IResult> PatchConfigAsync(AgentContext ctx, NodeState state, DcsConfigPatch patch, CancellationToken ct)
    {
        if (patch.Parameters?.Keys.Select(Core.Parameters.DynamicParameters.WhyNotSettable).OfType<string>().ToList() is { Count: > 0 } refused)
        {
            return Results.Json(new { error = string.Join("; ", refused) }, Json.Options, statusCode: 409);
        }
        string? error = null;
        var written = await ctx.Dcs.UpdateConfigAsync(current =>
        {
            var next = Patched(current, patch);
            error = DcsConfigRules.Validate(next);
            return error is null ? next : null;
        }, ct);
        if (written is null)
        {
            return Results.Json(new { error }, Json.Options, statusCode: 400);
        }
        state.Wake();
        return Results.Json(new { config = written }, Json.Options);
    }

    private static DcsConfig Patched(DcsConfig current, DcsConfigPatch patch)
    {
        var next = current with
        {
            Ttl = patch.Ttl ?? current.Ttl,
            LoopWait = patch.LoopWait ?? current.LoopWait,
            MaximumLagOnFailover = patch.MaximumLagOnFailover ?? current.MaximumLagOnFailover,
            SynchronousMode = patch.SynchronousMode ?? current.SynchronousMode,
        };
        if (patch.Parameters is { Count: > 0 } changes)
        {
            var parameters = System.Collections.Immutable.ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, current.Parameters);
            foreach (var (name, value) in changes)
            {
                parameters = value is null ? parameters.Remove(name) : parameters.SetItem(name, value);
            }
            next = next with { Parameters = parameters };
        }
        return next;
    }

    private static async Task<IResult> SetPausedAsync(AgentContext ctx, NodeState state, bool paused, CancellationToken ct)
    {
        await ctx.Dcs.UpdateConfigAsync(current => current with { Paused = paused }, ct);
        return Results.Json(new { paused, message = paused ? "automatic failover is paused" : "automatic failover is resumed" }, Json.Options);
    }
}
