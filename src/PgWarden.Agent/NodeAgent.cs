using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Sql;
using PgWarden.Postgres.Tools;

namespace PgWarden.Agent;

/// <summary>
/// Owns one node: decides its role at start (a pure decision), initialises or clones it, runs its
/// PostgreSQL as a child process, restarts it when it crashes, publishes its status, and stops it
/// cleanly when the agent is stopped.
/// </summary>
public sealed class NodeAgent(AgentContext ctx, NodeState state, AgentMetrics metrics, ILogger<NodeAgent> log, IHostApplicationLifetime lifetime) : BackgroundService
{
    private static readonly TimeSpan LoopPeriod = TimeSpan.FromSeconds(1);
    private ServerProcess? _server;
    private NodeConfig? _upstream;
    private string? _lastReason;

    private string Name => ctx.Node.Name;

    private string UpstreamFile => Path.Combine(ctx.Postgres.HomeDir, "upstream");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            ctx.Postgres.PrepareDirectories();
            ctx.Postgres.WritePassFile(ctx.Secrets);
            await StopOrphanedServerAsync(stoppingToken);
            await BootstrapAsync(stoppingToken);
            await SuperviseAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            var error = e as PgWardenException ?? PgWardenException.While($"running node {Name}", e);
            AgentLog.Failed(log, Name, error.Message);
            state.Update(s => s with { State = "failed: " + error.Message });
            Environment.ExitCode = error.ExitCode;
            lifetime.StopApplication();
        }
        finally
        {
            await StopServerAsync();
        }
    }

    private void Decided(string reason)
    {
        if (reason != _lastReason)
        {
            AgentLog.Decided(log, Name, reason);
            _lastReason = reason;
        }
        state.Update(s => s with { LastDecision = reason });
    }

    /// <summary>
    /// A postmaster left running by a previous agent (killed without a clean stop) is stopped, so
    /// that this agent starts it as its own child and supervises it.
    /// </summary>
    private async Task StopOrphanedServerAsync(CancellationToken ct)
    {
        var pidFile = Path.Combine(ctx.Postgres.DataDir, "postmaster.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid) && Libc.IsAlive(pid))
        {
            Decided($"PostgreSQL (PID {pid}) is still running from a previous agent: stopping it to take it over");
            var result = await ctx.Tools.RunAsync(new ToolCommand(ctx.Binaries.PgCtl, ["stop", "-D", ctx.Postgres.DataDir, "-m", "fast", "-w", "-t", "60"]), ct);
            if (!result.Succeeded)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"could not stop the orphaned PostgreSQL of node {Name} (PID {pid}): {result.Tail()}");
            }
        }
    }

    private async Task BootstrapAsync(CancellationToken ct)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var data = await ctx.Postgres.InspectDataAsync(ct);
            var statuses = await ctx.Peers.GetAllAsync(ctx.OtherNodes, ct);
            var peers = statuses.Select(kv => AgentClient.ToPeerView(kv.Key, kv.Value)).ToList();
            var configuredUpstream = File.Exists(UpstreamFile) ? File.ReadAllText(UpstreamFile).Trim() : null;
            var decision = BootstrapDecider.Decide(Name, ctx.Cluster.BootstrapNode.Name, data, peers, configuredUpstream);
            Decided(decision.Reason);
            switch (decision)
            {
                case RoleDecision.Wait:
                    state.Update(s => s with { State = "waiting" });
                    await Task.Delay(LoopPeriod, ct);
                    continue;
                case RoleDecision.InitializePrimary:
                    state.Update(s => s with { State = "initializing" });
                    await ctx.Postgres.InitDbAsync(ct);
                    await StartAsync(null, ct);
                    await ClusterBootstrapSql.ApplyAsync(ctx.LocalSuperuser, ctx.Cluster, Name, ctx.Secrets, ct);
                    return;
                case RoleDecision.CloneFrom clone:
                    state.Update(s => s with { State = "cloning" });
                    var source = ctx.Cluster.Node(clone.Source);
                    await ctx.Postgres.CloneAsync(source, ct);
                    await StartAsync(source, ct);
                    return;
                case RoleDecision.StartPrimary:
                    await StartAsync(null, ct);
                    await ClusterBootstrapSql.ApplyAsync(ctx.LocalSuperuser, ctx.Cluster, Name, ctx.Secrets, ct);
                    return;
                case RoleDecision.StartReplica replica:
                    await StartAsync(ctx.Cluster.Node(replica.Upstream), ct);
                    return;
            }
        }
    }

    /// <summary>Renders the configuration for the role, starts the postmaster and waits until it accepts connections.</summary>
    private async Task StartAsync(NodeConfig? upstream, CancellationToken ct)
    {
        _upstream = upstream;
        if (upstream is not null)
        {
            await File.WriteAllTextAsync(UpstreamFile, upstream.Name + "\n", ct);
        }
        ctx.Postgres.WriteConfiguration(ctx.RenderContext(upstream));
        state.Update(s => s with { State = "starting", Upstream = upstream?.Name });
        _server = ctx.Postgres.StartServer();
        AgentLog.Started(log, Name, _server.Pid, upstream is null ? "primary" : $"replica of {upstream.Name}");
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            if (_server.HasExited)
            {
                throw new PgWardenException(ExitCodes.OperationFailed,
                    $"PostgreSQL of node {Name} exited during start-up (code {_server.ExitCode}); see {ctx.Postgres.ServerLog} and {ctx.Postgres.DataDir}/log");
            }
            if (await RefreshStatusAsync(ct))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"PostgreSQL of node {Name} did not accept connections within 5 minutes");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
        }
    }

    private async Task SuperviseAsync(CancellationToken ct)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            var exited = _server is null || _server.HasExited;
            if (exited)
            {
                AgentLog.Crashed(log, Name, _server?.ExitCode, backoff.TotalSeconds);
                state.Update(s => s with { PostgresRunning = false, State = "restarting" });
                await Task.Delay(backoff, ct);
                try
                {
                    if (_server is not null)
                    {
                        await _server.DisposeAsync();
                    }
                    await StartAsync(_upstream, ct);
                    metrics.PostgresRestarted();
                    backoff = TimeSpan.FromSeconds(1);
                    Decided("PostgreSQL restarted after a crash");
                }
                catch (PgWardenException e)
                {
                    AgentLog.Failed(log, Name, e.Message);
                    backoff = TimeSpan.FromSeconds(Math.Min(30, backoff.TotalSeconds * 2));
                }
                continue;
            }
            var cycle = System.Diagnostics.Stopwatch.StartNew();
            await RefreshStatusAsync(ct);
            metrics.LoopTook(cycle.Elapsed);
            await Task.WhenAny(Task.Delay(LoopPeriod, ct), _server!.Exited);
        }
    }

    /// <summary>Reads the node's status into <see cref="NodeState"/>; false while PostgreSQL does not answer.</summary>
    private async Task<bool> RefreshStatusAsync(CancellationToken ct)
    {
        try
        {
            var s = await NodeStatusReader.ReadAsync(ctx.LocalSuperuser, ct);
            var systemId = File.Exists(Path.Combine(ctx.Postgres.HomeDir, "system-identifier"))
                ? File.ReadAllText(Path.Combine(ctx.Postgres.HomeDir, "system-identifier")).Trim() : null;
            state.Update(old => new Core.Ha.NodeStatus(Name, s.InRecovery ? NodeRole.Replica : NodeRole.Primary, "running", true,
                s.Timeline, s.CurrentLsn, s.ReceiveLsn, s.ReplayLsn, s.ReplayLagSeconds,
                s.InRecovery ? _upstream?.Name : null, systemId, old.LastDecision, s.Replicas, s.Slots)
            {
                WalReceiver = s.WalReceiverStatus,
            });
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException && !ct.IsCancellationRequested)
        {
            state.Update(old => old with { PostgresRunning = false, State = _server is { HasExited: false } ? "starting" : "stopped" });
            return false;
        }
    }

    private async Task StopServerAsync()
    {
        if (_server is null)
        {
            return;
        }
        if (!_server.HasExited)
        {
            AgentLog.Stopping(log, Name);
            // SIGINT = fast shutdown: roll back open transactions, checkpoint, exit.
            await _server.StopAsync(Libc.SIGINT, TimeSpan.FromSeconds(60));
        }
        await _server.DisposeAsync();
        state.Update(s => s with { PostgresRunning = false, State = "stopped" });
    }
}
