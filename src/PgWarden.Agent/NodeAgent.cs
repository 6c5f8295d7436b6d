using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Sql;
using PgWarden.Postgres.Tools;

namespace PgWarden.Agent;

/// <summary>
/// Owns one node. At start it brings PostgreSQL up in the role the DCS allows (initialise, clone,
/// primary only while holding the leader lease, replica otherwise); then, every loop_wait, it
/// observes PostgreSQL and the DCS, asks <see cref="HaDecider"/> what to do, does it and logs the
/// one-sentence reason. It restarts a crashed PostgreSQL, fences a hung one, and stops it (and
/// gives the lease up) when the agent stops. Actions are in NodeAgent.Actions.cs.
/// </summary>
public sealed partial class NodeAgent(AgentContext ctx, NodeState state, AgentMetrics metrics, ILogger<NodeAgent> log, IHostApplicationLifetime lifetime) : BackgroundService
{
    /// <summary>A crashed primary gets this long to come back before its lease is released.</summary>
    private static readonly TimeSpan PrimaryRestartBudget = TimeSpan.FromSeconds(5);

    /// <summary>Status queries that time out in a row before a running PostgreSQL counts as hung and is fenced.</summary>
    private const int HungAfterUnansweredChecks = 3;

    private ServerProcess? _server;
    private bool _serverShouldRun;
    private NodeConfig? _upstream;
    private DateTimeOffset? _leaseExpiresAt;
    private bool _postgresFailed;
    private bool _primaryRestartUsed;
    private int _unansweredChecks;
    private int _replicaStartFailures;
    private int _cycle;
    private string? _lastReason;
    private ClusterView? _lastView;
    private TimeSpan _replicaBackoff = TimeSpan.FromSeconds(1);
    private DateTimeOffset _replicaRestartAt;

    private string Name => ctx.Node.Name;

    private IDcs Dcs => ctx.Dcs;

    private DcsConfig Config => _lastView?.Config ?? ctx.Cluster.Dcs.Initial;

    private TimeSpan Ttl => TimeSpan.FromSeconds(Config.Ttl);

    private TimeSpan LoopWait => TimeSpan.FromSeconds(Config.LoopWait);

    private string UpstreamFile => Path.Combine(ctx.Postgres.HomeDir, "upstream");

    private bool ServerAlive => _server is { HasExited: false };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            ctx.Postgres.PrepareDirectories();
            ctx.Postgres.WritePassFile(ctx.Secrets);
            await StopOrphanedServerAsync(stoppingToken);
            await ForgetOldLeadershipAfterRestoreAsync(stoppingToken);
            await StartupAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                await CycleAsync(stoppingToken);
                metrics.LoopTook(clock.Elapsed);
                // While the leadership is changing (no leader, or a switchover/failover requested) the
                // loop runs every 200 ms instead of loop_wait, so hand-overs are not slowed by polling.
                var period = _lastView is { Leader: null } or { Failover: not null } ? TimeSpan.FromMilliseconds(200) : LoopWait;
                var wait = period - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.WhenAny(Task.Delay(wait, stoppingToken), _server?.Exited ?? Task.Delay(Timeout.Infinite, stoppingToken), state.WakeAsync(stoppingToken));
                }
            }
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
            await ReleaseLeaseOnShutdownAsync();
        }
    }

    /// <summary>
    /// `restore --cluster` leaves a marker next to the data it restored: the DCS still holds the old
    /// cluster's leader key and position, which must not stop the restored primary from leading.
    /// </summary>
    private async Task ForgetOldLeadershipAfterRestoreAsync(CancellationToken ct)
    {
        var marker = Path.Combine(ctx.Postgres.HomeDir, RestoredMarker.FileName);
        if (!File.Exists(marker))
        {
            return;
        }
        while (true)
        {
            try
            {
                await Dcs.ForgetLeadershipAsync(ct);
                break;
            }
            catch (DcsUnavailableException e)
            {
                Decided($"restored from a backup: waiting for the DCS to forget the old leader ({e.Message})");
                await Task.Delay(LoopWait, ct);
            }
        }
        Decided($"restored from a backup ({File.ReadAllText(marker).Trim()}): forgot the old cluster's leader key and WAL position");
        File.Delete(marker);
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

    private async Task<ClusterView?> TryReadAsync(CancellationToken ct)
    {
        try
        {
            var view = await Dcs.ReadAsync(ct);
            _lastView = view;
            state.View = view;
            state.Update(s => s with { DcsError = null });
            return view;
        }
        catch (DcsUnavailableException e)
        {
            state.Update(s => s with { DcsError = e.Message });
            return null;
        }
    }

    /// <summary>Brings PostgreSQL up in the role the DCS allows; loops until it is running.</summary>
    private async Task StartupAsync(CancellationToken ct)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var view = await TryReadAsync(ct);
            if (view is null)
            {
                Decided("the DCS is unreachable: waiting for it before starting PostgreSQL");
                await Task.Delay(LoopWait, ct);
                continue;
            }
            var data = await ctx.Postgres.InspectDataAsync(ct);
            var leader = view.Leader?.Name;
            var leaderNode = leader is not null && leader != Name ? ctx.Cluster.Node(leader) : null;
            switch (data)
            {
                case LocalDataState.Empty when leaderNode is not null && view.Members.TryGetValue(leaderNode.Name, out var lm) && lm is { PostgresRunning: true, Role: NodeRole.Primary }:
                    Decided($"data directory is empty and {leaderNode.Name} leads: cloning it");
                    state.Update(s => s with { State = "cloning" });
                    await ctx.Postgres.CloneAsync(leaderNode, ct);
                    await StartServerAsync(leaderNode, ct);
                    return;
                case LocalDataState.Empty when view.Initialize is null && !MayInitialize(view):
                    Decided($"data directory is empty and the cluster is not initialised yet: waiting for {ctx.Cluster.BootstrapNode.Name} to initialise it");
                    break;
                case LocalDataState.Empty when view.Initialize is null:
                    if (await Dcs.TryInitializeAsync(Name, ct))
                    {
                        Decided("data directory is empty and nobody initialised the cluster: this node runs initdb");
                        await Dcs.WriteConfigAsync(ctx.Cluster.Dcs.Initial, ct);
                        state.Update(s => s with { State = "initializing" });
                        await ctx.Postgres.InitDbAsync(ct);
                        if (!await TryAcquireAsync(ct))
                        {
                            throw new PgWardenException(ExitCodes.OperationFailed, $"node {Name} initialised the cluster but could not take the leader lease");
                        }
                        await StartServerAsync(null, ct);
                        await ClusterBootstrapSql.ApplyAsync(ctx.LocalSuperuser, ctx.Cluster, Name, ctx.Secrets, ct);
                        return;
                    }
                    continue;
                case LocalDataState.Empty:
                    Decided($"data directory is empty: waiting for a leader to clone from (cluster initialised by {view.Initialize})");
                    break;
                case LocalDataState.Primary when leader == Name:
                    Decided("this node's data is a primary and it still holds the leader lease: starting as primary");
                    await StartServerAsync(null, ct);
                    return;
                case LocalDataState.Primary when leaderNode is not null:
                    await RejoinAsync(leaderNode, ct);
                    return;
                case LocalDataState.Primary:
                    if (await TryAcquireAsync(ct))
                    {
                        Decided("this node's data is a primary and no node leads: took the lease, starting as primary");
                        await StartServerAsync(null, ct);
                        await ClusterBootstrapSql.ApplyAsync(ctx.LocalSuperuser, ctx.Cluster, Name, ctx.Secrets, ct);
                        return;
                    }
                    Decided("this node's data is a primary but another node took the lease first");
                    break;
                case LocalDataState.Standby:
                    var upstream = leaderNode ?? ReadUpstream();
                    Decided(leaderNode is not null ? $"data directory holds a replica: following leader {leaderNode.Name}" : "data directory holds a replica and no node leads: starting read-only");
                    await StartServerAsync(upstream, ct);
                    return;
            }
            state.Update(s => s with { State = "waiting" });
            await Task.Delay(LoopWait, ct);
        }
    }

    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;

    /// <summary>
    /// The first configured node initialises a new cluster (so that it is the first primary);
    /// another node may only if the bootstrap node's agent has not shown up for a minute.
    /// </summary>
    private bool MayInitialize(ClusterView view) =>
        Name == ctx.Cluster.BootstrapNode.Name
        || !view.Members.ContainsKey(ctx.Cluster.BootstrapNode.Name) && DateTimeOffset.UtcNow - _startedAt > TimeSpan.FromMinutes(1);

    private NodeConfig? ReadUpstream()
    {
        var name = File.Exists(UpstreamFile) ? File.ReadAllText(UpstreamFile).Trim() : null;
        return name is not null && name != Name && ctx.Cluster.Nodes.Any(n => n.Name == name) ? ctx.Cluster.Node(name) : null;
    }

    /// <summary>One HA cycle: observe, decide, act, publish.</summary>
    private async Task CycleAsync(CancellationToken ct)
    {
        _cycle++;
        var view = await TryReadAsync(ct);
        await SuperviseAsync(ct);
        if (state.TakeReinitRequest() && view?.Leader?.Name is { } reinitFrom && reinitFrom != Name)
        {
            await ReinitAsync(ctx.Cluster.Node(reinitFrom), ct);
        }
        var local = Observe();
        var decision = HaDecider.Decide(view, local, DateTimeOffset.UtcNow, Ttl);
        Decided(decision.Reason);
        state.Update(s => s with { Leader = view?.Leader?.Name ?? (view is null ? s.Leader : null), Paused = view?.Config.Paused ?? s.Paused, LeaseExpiresAt = _leaseExpiresAt });
        try
        {
            await ActAsync(decision, ct);
        }
        catch (DcsUnavailableException e)
        {
            state.Update(s => s with { DcsError = e.Message });
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // One failed action must not take the agent down: log it and decide again next cycle.
            AgentLog.Failed(log, Name, $"{decision.GetType().Name} failed: {e.Message}");
        }
        if (view is not null)
        {
            await PublishAsync(ct);
        }
    }

    private LocalState Observe()
    {
        var s = state.Current;
        var running = ServerAlive && s.PostgresRunning;
        var role = running ? s.Role : Directory.Exists(ctx.Postgres.DataDir) && !ctx.Postgres.IsMarkedStandby ? NodeRole.Primary : NodeRole.Replica;
        var wal = role == NodeRole.Primary ? Lsn.ParseOrNull(s.CurrentLsn) : ReplicaPosition(s);
        return new LocalState(Name, running, role, s.Timeline ?? 0, wal, _leaseExpiresAt, _postgresFailed, ctx.Node.NoFailover, ctx.Node.Priority)
        {
            Peers = ctx.OtherNodes.Select(n => n.Name).ToList(),
        };
    }

    /// <summary>How much WAL a replica has: the larger of received and replayed (after a restart the receive position restarts at a segment boundary).</summary>
    private static long? ReplicaPosition(NodeStatus s)
    {
        var received = Lsn.ParseOrNull(s.ReceiveLsn);
        var replayed = Lsn.ParseOrNull(s.ReplayLsn);
        return received is null ? replayed : replayed is null ? received : Math.Max(received.Value, replayed.Value);
    }

    private async Task PublishAsync(CancellationToken ct)
    {
        var s = state.Current;
        var running = ServerAlive && s.PostgresRunning;
        var member = new MemberInfo(Name, running ? s.Role : NodeRole.Stopped,
            running && s.Role == NodeRole.Replica && s.WalReceiver == "streaming" ? "streaming" : s.State,
            running, s.Timeline ?? 0,
            s.Role == NodeRole.Primary ? Lsn.ParseOrNull(s.CurrentLsn) : ReplicaPosition(s),
            Lsn.ParseOrNull(s.ReplayLsn), ctx.Node.ApiUrl, ctx.Node.Address, ctx.Node.Port, ctx.Node.Priority, ctx.Node.NoFailover, DateTimeOffset.UtcNow);
        try
        {
            await Dcs.PublishMemberAsync(member, Ttl, ct);
        }
        catch (DcsUnavailableException e)
        {
            state.Update(x => x with { DcsError = e.Message });
        }
    }

    /// <summary>Restarts a crashed PostgreSQL (a primary once, within its budget) and fences a hung one.</summary>
    private async Task SuperviseAsync(CancellationToken ct)
    {
        if (!_serverShouldRun)
        {
            return;
        }
        if (!ServerAlive)
        {
            var wasPrimary = state.Current.Role == NodeRole.Primary && _upstream is null;
            AgentLog.Crashed(log, Name, _server?.ExitCode, 0);
            state.Update(s => s with { PostgresRunning = false, State = "restarting" });
            if (wasPrimary)
            {
                if (_primaryRestartUsed || _leaseExpiresAt is null)
                {
                    _postgresFailed = true;
                    _serverShouldRun = false;
                    return;
                }
                _primaryRestartUsed = true;
                using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
                budget.CancelAfter(PrimaryRestartBudget);
                string? lastError = null;
                // Backends of the killed postmaster may still hold its shared memory for a moment:
                // retry until the budget is spent.
                while (!budget.IsCancellationRequested)
                {
                    try
                    {
                        await StartServerAsync(null, budget.Token);
                        metrics.PostgresRestarted();
                        Decided("the primary's PostgreSQL crashed and was restarted in place");
                        return;
                    }
                    catch (PgWardenException e)
                    {
                        lastError = e.Message;
                        await Task.Delay(200, CancellationToken.None);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        break;
                    }
                }
                AgentLog.Failed(log, Name, $"the primary's PostgreSQL did not come back within {PrimaryRestartBudget.TotalSeconds:0} s: {lastError}");
                await FenceAsync("it did not come back after a crash");
                return;
            }
            if (DateTimeOffset.UtcNow < _replicaRestartAt)
            {
                return;
            }
            try
            {
                await StartServerAsync(_upstream, ct);
                metrics.PostgresRestarted();
                _replicaBackoff = TimeSpan.FromSeconds(1);
                Decided("PostgreSQL crashed and was restarted");
            }
            catch (PgWardenException e)
            {
                AgentLog.Failed(log, Name, e.Message);
                _replicaRestartAt = DateTimeOffset.UtcNow + _replicaBackoff;
                _replicaBackoff = TimeSpan.FromSeconds(Math.Min(30, _replicaBackoff.TotalSeconds * 2));
            }
            return;
        }
        if (await RefreshStatusAsync(TimeSpan.FromSeconds(2), ct))
        {
            _unansweredChecks = 0;
            if (_cycle % 60 == 0)
            {
                _primaryRestartUsed = false;
            }
        }
        else if (++_unansweredChecks >= HungAfterUnansweredChecks)
        {
            await FenceAsync($"it did not answer {_unansweredChecks} status checks in a row (hung)");
        }
    }

    /// <summary>Kills a hung or failed PostgreSQL and every backend, so it cannot accept another write.</summary>
    private async Task FenceAsync(string why)
    {
        if (_server is { HasExited: false } server)
        {
            var killed = ProcessTree.KillTree(server.Pid);
            AgentLog.Failed(log, Name, $"fenced PostgreSQL ({killed} processes killed): {why}");
            await server.Exited;
        }
        _postgresFailed = true;
        _serverShouldRun = false;
        _unansweredChecks = 0;
        state.Update(s => s with { PostgresRunning = false, State = "fenced" });
    }

    /// <summary>Reads the node's status into <see cref="NodeState"/>; false if PostgreSQL does not answer in time.</summary>
    private async Task<bool> RefreshStatusAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            // A fresh connection each time: a hung postmaster still serves connections it already forked.
            var s = await NodeStatusReader.ReadAsync(ctx.StatusSource, deadline.Token);
            var systemIdFile = Path.Combine(ctx.Postgres.HomeDir, "system-identifier");
            var systemId = File.Exists(systemIdFile) ? File.ReadAllText(systemIdFile).Trim() : null;
            state.Update(old => old with
            {
                Role = s.InRecovery ? NodeRole.Replica : NodeRole.Primary,
                State = "running",
                PostgresRunning = true,
                Timeline = s.Timeline,
                CurrentLsn = s.CurrentLsn,
                ReceiveLsn = s.ReceiveLsn,
                ReplayLsn = s.ReplayLsn,
                ReplayLagSeconds = s.ReplayLagSeconds,
                Upstream = s.InRecovery ? _upstream?.Name : null,
                SystemIdentifier = systemId,
                Replicas = s.Replicas,
                Slots = s.Slots,
                WalReceiver = s.WalReceiverStatus,
                ArchiveFailure = s.ArchiveFailure,
            });
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            state.Update(old => old with { PostgresRunning = false, State = ServerAlive ? "not answering" : "stopped" });
            return false;
        }
    }
}
