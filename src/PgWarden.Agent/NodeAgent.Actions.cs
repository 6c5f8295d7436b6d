using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Sql;
using PgWarden.Postgres.Tools;
using PgWarden.Core.Processes;

namespace PgWarden.Agent;

/// <summary>What the agent does for each <see cref="HaDecision"/>.</summary>
public sealed partial class NodeAgent
{
    private async Task ActAsync(HaDecision decision, CancellationToken ct)
    {
        switch (decision)
        {
            case HaDecision.Lead:
                await RenewAsync(ct);
                if (!_serverShouldRun && !_postgresFailed)
                {
                    await StartServerAsync(null, ct);
                }
                if (ServerAlive && state.Current.Role == NodeRole.Primary && _leaseExpiresAt is not null)
                {
                    await ApplySynchronousModeAsync(ct);
                    if (Lsn.ParseOrNull(state.Current.CurrentLsn) is { } position)
                    {
                        await Dcs.PublishLeaderPositionAsync(position, ct);
                    }
                }
                if (_cycle % 10 == 0 && ServerAlive && state.Current.Role == NodeRole.Primary)
                {
                    await EnsureSlotsAsync(ct);
                }
                if (_lastView?.Failover is { To: var to } && to == Name)
                {
                    await Dcs.ClearFailoverAsync(ct);
                }
                break;
            case HaDecision.AcquireAndLead:
                if (await TryAcquireAsync(ct))
                {
                    await EnsureSlotsAsync(ct);
                }
                break;
            case HaDecision.AcquireAndPromote:
                await PromoteAsync(ct);
                break;
            case HaDecision.Demote d:
                await DemoteAsync(d.Reason, ct);
                break;
            case HaDecision.ReleaseLease:
                await StepDownAsync(ct);
                break;
            case HaDecision.Follow f:
                await FollowAsync(ctx.Cluster.Node(f.Leader), ct);
                break;
            case HaDecision.Rejoin r:
                await RejoinAsync(ctx.Cluster.Node(r.Leader), ct);
                break;
            case HaDecision.Wait:
                // A stopped replica with nobody to follow still serves reads.
                if (!_serverShouldRun && !_postgresFailed && ctx.Postgres.IsMarkedStandby)
                {
                    await StartServerAsync(_upstream, ct);
                }
                break;
        }
    }

    private async Task<bool> TryAcquireAsync(CancellationToken ct)
    {
        var start = DateTimeOffset.UtcNow;
        if (!await Dcs.TryAcquireLeaderAsync(Name, Ttl, ct))
        {
            return false;
        }
        _leaseExpiresAt = start + Ttl;
        return true;
    }

    private async Task RenewAsync(CancellationToken ct)
    {
        var start = DateTimeOffset.UtcNow;
        if (await Dcs.RenewLeaderAsync(Name, ct))
        {
            _leaseExpiresAt = start + Ttl;
        }
        else
        {
            _leaseExpiresAt = null;
            Decided("the leader lease was lost");
        }
    }

    /// <summary>Takes the lease (unless held) and promotes the local replica; creates the other nodes' slots.</summary>
    private async Task PromoteAsync(CancellationToken ct)
    {
        if (_leaseExpiresAt is null && _lastView?.Leader?.Name == Name)
        {
            // The key still names this node (e.g. kept by etcd across its own restart): adopt it.
            await RenewAsync(ct);
        }
        if (_leaseExpiresAt is null && !await TryAcquireAsync(ct))
        {
            return;
        }
        var before = state.Current.Timeline ?? 0;
        var position = ReplicaPosition(state.Current) ?? 0;
        await ctx.Postgres.PromoteAsync(ct);
        // A checkpoint records the new timeline in the control file, which former primaries wait
        // for before pg_rewind; run it in the background so the promotion is not delayed.
        _ = Task.Run(async () =>
        {
            try
            {
                await using var conn = await ctx.LocalSuperuser.OpenConnectionAsync(CancellationToken.None);
                await using var cmd = new Npgsql.NpgsqlCommand("CHECKPOINT", conn) { CommandTimeout = 0 };
                await cmd.ExecuteNonQueryAsync();
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException)
            {
                AgentLog.Failed(log, Name, $"checkpoint after promotion failed: {e.Message}");
            }
        }, CancellationToken.None);
        _upstream = null;
        File.Delete(UpstreamFile);
        ctx.Postgres.WriteConfiguration(ctx.RenderContext(null));
        _server?.Signal(Libc.SIGHUP);
        await RefreshStatusAsync(TimeSpan.FromSeconds(5), ct);
        await EnsureSlotsAsync(ct);
        metrics.Promoted();
        var reason = _lastView?.Failover is { } f ? $"{f.Kind} requested" : "failover: the leader lease was free";
        await Dcs.AppendHistoryAsync(new TimelineHistoryEntry(state.Current.Timeline ?? before + 1, position, Name, reason, DateTimeOffset.UtcNow), ct);
        if (_lastView?.Failover is not null)
        {
            await Dcs.ClearFailoverAsync(ct);
        }
        Decided($"promoted to primary on timeline {state.Current.Timeline} ({reason})");
    }

    /// <summary>Stops accepting writes at once: restarts PostgreSQL read-only and gives up any lease.</summary>
    private async Task DemoteAsync(string why, CancellationToken ct)
    {
        AgentLog.Failed(log, Name, $"demoting: {why}");
        // Immediate shutdown: a fast one waits for the WAL senders, which hang when the replicas
        // are cut off, and a demotion must stop writes now. Crash recovery on restart is safe.
        await StopServerAsync(immediate: true);
        ctx.Postgres.MarkStandby();
        var leader = _lastView?.Leader?.Name;
        var upstream = leader is not null && leader != Name ? ctx.Cluster.Node(leader) : null;
        _leaseExpiresAt = null;
        await StartServerAsync(upstream, ct);
        try
        {
            await Dcs.ReleaseLeaderAsync(Name, ct);
        }
        catch (DcsUnavailableException)
        {
            // The lease expires by itself; this node no longer writes either way.
        }
    }

    /// <summary>Releases the lease: on a planned switchover after a clean stop (every WAL record has reached the replicas), after a failure at once.</summary>
    private async Task StepDownAsync(CancellationToken ct)
    {
        if (!_postgresFailed && ServerAlive)
        {
            // A checkpoint first (writes are paused in PgBouncer during a switchover), so the
            // shutdown checkpoint has almost nothing left to write and the hand-over is quick.
            try
            {
                await using var conn = await ctx.LocalSuperuser.OpenConnectionAsync(ct);
                await using var cmd = new Npgsql.NpgsqlCommand("CHECKPOINT", conn) { CommandTimeout = 30 };
                await cmd.ExecuteNonQueryAsync(ct);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
            {
                AgentLog.Failed(log, Name, $"checkpoint before stepping down failed: {e.Message}");
            }
            await StopServerAsync(fast: true);
        }
        _serverShouldRun = false;
        await Dcs.ReleaseLeaderAsync(Name, ct);
        _leaseExpiresAt = null;
        Decided("released the leader lease");
    }

    /// <summary>Streams from <paramref name="leader"/>: repoints primary_conninfo (a reload is enough in PostgreSQL 13+).</summary>
    private async Task FollowAsync(NodeConfig leader, CancellationToken ct)
    {
        if (_upstream?.Name == leader.Name && (ServerAlive || _serverShouldRun))
        {
            return;
        }
        if (!ServerAlive)
        {
            if (!_postgresFailed && ctx.Postgres.IsMarkedStandby)
            {
                try
                {
                    await StartServerAsync(leader, ct);
                    _replicaStartFailures = 0;
                }
                catch (PgWardenException e) when (++_replicaStartFailures >= 5)
                {
                    await RecloneAsync(leader, $"it failed to start as a replica {_replicaStartFailures} times ({e.Message})", ct);
                }
            }
            return;
        }
        _upstream = leader;
        await File.WriteAllTextAsync(UpstreamFile, leader.Name + "\n", ct);
        ctx.Postgres.WriteConfiguration(ctx.RenderContext(leader));
        _server!.Signal(Libc.SIGHUP);
        Decided($"repointed replication to the new leader {leader.Name}");
    }

    /// <summary>
    /// A former primary rejoins <paramref name="leader"/>: stop, pg_rewind, start as its replica. If
    /// pg_rewind fails, the data directory is moved aside (kept, never deleted) and the node is re-cloned.
    /// </summary>
    private async Task RejoinAsync(NodeConfig leader, CancellationToken ct)
    {
        Decided($"rejoining {leader.Name} as a replica (pg_rewind)");
        state.Update(s => s with { State = "rejoining" });
        await StopServerAsync(fast: true);
        var rewind = await ctx.Postgres.RewindAsync(leader, ct);
        if (!rewind.Succeeded)
        {
            var aside = ctx.Postgres.MoveDataAside("rejoin-failed");
            AgentLog.Failed(log, Name, $"pg_rewind from {leader.Name} failed ({rewind.Tail()}); old data kept at {aside}, cloning {leader.Name} afresh");
            await ctx.Postgres.CloneAsync(leader, ct);
        }
        ctx.Postgres.MarkStandby();
        _postgresFailed = false;
        _primaryRestartUsed = false;
        _leaseExpiresAt = null;
        try
        {
            await StartServerAsync(leader, ct);
        }
        catch (PgWardenException e) when (rewind.Succeeded)
        {
            // E.g. "requested timeline does not contain minimum recovery point": history this node cannot replay.
            await RecloneAsync(leader, $"after pg_rewind it could not start as a replica of {leader.Name} ({e.Message})", ct);
        }
        Decided($"rejoined {leader.Name} as a replica");
    }

    /// <summary>The last resort for a replica that cannot follow: keep its data directory aside, clone the leader.</summary>
    private async Task RecloneAsync(NodeConfig leader, string why, CancellationToken ct)
    {
        await StopServerAsync(fast: true);
        var aside = ctx.Postgres.MoveDataAside("reclone");
        AgentLog.Failed(log, Name, $"re-cloning from {leader.Name}: {why}; old data directory kept at {aside}");
        state.Update(s => s with { State = "cloning" });
        await ctx.Postgres.CloneAsync(leader, ct);
        _replicaStartFailures = 0;
        await StartServerAsync(leader, ct);
    }

    /// <summary>`pgwarden reinit`: a fresh clone of the leader; the old data directory is kept aside, not deleted.</summary>
    private async Task ReinitAsync(NodeConfig leader, CancellationToken ct)
    {
        Decided($"re-initialising from {leader.Name} on request");
        state.Update(s => s with { State = "reinitialising" });
        await StopServerAsync(fast: true);
        var aside = ctx.Postgres.MoveDataAside("reinit");
        AgentLog.Failed(log, Name, $"old data directory kept at {aside}");
        await ctx.Postgres.CloneAsync(leader, ct);
        await StartServerAsync(leader, ct);
        Decided($"re-initialised from {leader.Name}");
    }

    /// <summary>
    /// Synchronous mode: commits wait for ANY 1 of the other nodes, so an acknowledged commit is
    /// always on at least one replica (and the failover candidate with the most WAL has it).
    /// </summary>
    private async Task ApplySynchronousModeAsync(CancellationToken ct)
    {
        var desired = Config.SynchronousMode
            ? $"ANY 1 ({string.Join(", ", ctx.OtherNodes.Select(n => "\"" + n.Name + "\""))})"
            : "";
        await using var conn = await ctx.LocalSuperuser.OpenConnectionAsync(ct);
        await using (var show = new Npgsql.NpgsqlCommand("SELECT current_setting('synchronous_standby_names')", conn))
        {
            if ((string)(await show.ExecuteScalarAsync(ct))! == desired)
            {
                return;
            }
        }
        await using (var set = new Npgsql.NpgsqlCommand($"ALTER SYSTEM SET synchronous_standby_names = '{desired.Replace("'", "''")}'", conn))
        {
            await set.ExecuteNonQueryAsync(ct);
        }
        await using (var reload = new Npgsql.NpgsqlCommand("SELECT pg_reload_conf()", conn))
        {
            await reload.ExecuteNonQueryAsync(ct);
        }
        Decided(desired.Length == 0 ? "synchronous mode off: commits no longer wait for a replica" : $"synchronous mode: commits wait for {desired}");
    }

    /// <summary>One physical slot per other node, so any of them can stream from this primary.</summary>
    private async Task EnsureSlotsAsync(CancellationToken ct)
    {
        await using var conn = await ctx.LocalSuperuser.OpenConnectionAsync(ct);
        foreach (var node in ctx.OtherNodes)
        {
            await ClusterBootstrapSql.EnsureSlotAsync(conn, node.SlotName, ct);
        }
    }

    /// <summary>Renders the configuration for the role, starts the postmaster and waits until it accepts connections.</summary>
    private async Task StartServerAsync(NodeConfig? upstream, CancellationToken ct)
    {
        _upstream = upstream;
        if (upstream is not null)
        {
            await File.WriteAllTextAsync(UpstreamFile, upstream.Name + "\n", ct);
        }
        ctx.Postgres.WriteConfiguration(ctx.RenderContext(upstream));
        state.Update(s => s with { State = "starting", Upstream = upstream?.Name });
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        // Pooled connections to the previous postmaster are dead now.
        ctx.LocalSuperuser.Clear();
        _server = ctx.Postgres.StartServer();
        _serverShouldRun = true;
        AgentLog.Started(log, Name, _server.Pid, upstream is null ? (ctx.Postgres.IsMarkedStandby ? "read-only replica without upstream" : "primary") : $"replica of {upstream.Name}");
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            if (_server.HasExited)
            {
                _serverShouldRun = false;
                throw new PgWardenException(ExitCodes.OperationFailed,
                    $"PostgreSQL of node {Name} exited during start-up (code {_server.ExitCode}); see {ctx.Postgres.ServerLog} and {ctx.Postgres.DataDir}/log");
            }
            if (await RefreshStatusAsync(TimeSpan.FromSeconds(2), ct))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"PostgreSQL of node {Name} did not accept connections within 5 minutes");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }

    private async Task StopServerAsync(bool fast = true, bool immediate = false)
    {
        _serverShouldRun = false;
        if (_server is null)
        {
            return;
        }
        if (!_server.HasExited)
        {
            AgentLog.Stopping(log, Name);
            // SIGINT = fast shutdown: roll back open transactions, checkpoint, exit; SIGQUIT after 30 s.
            if (!await _server.StopAsync(immediate ? Libc.SIGQUIT : Libc.SIGINT, TimeSpan.FromSeconds(immediate ? 5 : fast ? 30 : 60)))
            {
                AgentLog.Failed(log, Name, "PostgreSQL did not stop within the grace period and was killed");
            }
        }
        await _server.DisposeAsync();
        _server = null;
        state.Update(s => s with { PostgresRunning = false, State = "stopped" });
    }

    /// <summary>A leader that stops on purpose gives the lease up, so a replica takes over at once instead of after the TTL.</summary>
    private async Task ReleaseLeaseOnShutdownAsync()
    {
        if (_leaseExpiresAt is null)
        {
            return;
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await Dcs.ReleaseLeaderAsync(Name, timeout.Token);
        }
        catch (Exception e) when (e is DcsUnavailableException or OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// A postmaster left running by a previous agent (killed without a clean stop, before PgWarden
    /// tied PostgreSQL's life to its agent's) is stopped, so this agent starts it as its own child.
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
}
