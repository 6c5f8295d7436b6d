using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Sql;

namespace PgWarden.Agent.Ha;

/// <summary>
/// Owns the node's postmaster: starts it in a role and waits until it accepts connections, stops it
/// in a <see cref="ShutdownMode"/>, notices a crash, detects a hung one (fresh connections time out
/// <see cref="HungAfterUnansweredChecks"/> times in a row) and fences it (every process killed at
/// once), and keeps the restart budgets: a crashed primary is restarted in place once per
/// <see cref="PrimaryRestartWindow"/> and must answer within <see cref="PrimaryRestartBudget"/>;
/// a replica that fails to start backs off (1 s doubling to 30 s). Every postmaster it starts is
/// handed to the <see cref="IWatchdog"/> to fence.
/// </summary>
public sealed class PostmasterSupervisor(IPostgresNode node, IWatchdog watchdog, TimeProvider clock, AgentEvents events)
{
    /// <summary>Status queries that time out in a row before a running PostgreSQL counts as hung and is fenced.</summary>
    public const int HungAfterUnansweredChecks = 3;

    /// <summary>How long one status query may take before it counts as unanswered.</summary>
    public static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A crashed primary gets this long (10 s) to come back before its lease is released. Restarting in place
    /// keeps every flushed commit, which a failover in asynchronous mode may lose, so the budget leans to
    /// waiting: 5 s was exceeded by crash recovery on a loaded 2-core machine (CI: a single crash became a
    /// failover). Patroni's equivalent, master_start_timeout, defaults to 300 s.
    /// </summary>
    public static readonly TimeSpan PrimaryRestartBudget = TimeSpan.FromSeconds(10);

    /// <summary>At most one in-place restart of a crashed primary per this window; a second crash releases the lease.</summary>
    public static readonly TimeSpan PrimaryRestartWindow = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IPostmaster? _process;
    private volatile bool _expected;
    private int _unanswered;

    /// <summary>A stop is under way: a server shutting down refuses status checks, and the stop's own grace period bounds a hang.</summary>
    private volatile bool _stopping;
    private long? _lastPrimaryRestart;
    private int _primaryRestartsInWindow;
    private long _replicaRetryAt;
    private TimeSpan _replicaBackoff = TimeSpan.FromSeconds(1);

    public PostmasterState State { get; private set; } = PostmasterState.Stopped;

    /// <summary>The last status read while running (null when not running).</summary>
    public NodeStatusReader.Snapshot? Status { get; private set; }

    /// <summary>Crashed beyond its restart budget or fenced; cleared by the next deliberate start.</summary>
    public bool Failed
    {
        get => _failed;
        private set
        {
            if (value && !_failed)
            {
                _failedAt = clock.GetTimestamp();
            }
            _failed = value;
        }
    }

    private bool _failed;
    private long? _failedAt;
    private int _recoveries;
    private long? _lastRecovery;

    /// <summary>
    /// How long a failed node waits before it is started again without a leader (when no other node may
    /// lead): 5 s, doubling per recovery up to 60 s; the count starts over after 10 minutes without one.
    /// A node that hangs or crashes again after each recovery so cannot cycle fence, restart, promote at
    /// loop speed, each round a new timeline.
    /// </summary>
    public TimeSpan RecoveryDelay => TimeSpan.FromSeconds(Math.Min(60, 5 * Math.Pow(2, _recoveries)));

    /// <summary>A failed node's <see cref="RecoveryDelay"/> has passed since it failed (true when not failed).</summary>
    public bool MayRecoverNow => !Failed || _failedAt is not { } at || clock.GetElapsedTime(at) >= RecoveryDelay;

    /// <summary>Consecutive failed starts as a replica.</summary>
    public int StartFailures { get; private set; }

    /// <summary>The node the running server was configured to stream from (null: none, or a primary).</summary>
    public NodeConfig? Upstream { get; private set; }

    /// <summary>The running postmaster's PID.</summary>
    public int? Pid => _process is { HasExited: false } p ? p.Pid : null;

    /// <summary>Completes when the running postmaster exits; never when none runs (an exit already seen must not wake the loop again and again).</summary>
    public Task Exited => _process is { HasExited: false } p ? p.Exited : Never;

    private static readonly Task Never = new TaskCompletionSource().Task;

    /// <summary>The cluster-wide parameters from the DCS the next configuration is rendered with (set by the loop each cycle).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; set; } = new Dictionary<string, string>();

    /// <summary>The parameters the running server's configuration was last written and loaded with (null: none runs).</summary>
    public IReadOnlyDictionary<string, string>? RenderedParameters { get; private set; }

    private bool _standby;
    private HotStandbySettings? _floor;

    public bool IsPrimary => State == PostmasterState.Running && Status is { InRecovery: false };

    /// <summary>A replica may be (re)started now: its back-off after failed starts has passed.</summary>
    public bool MayStartReplicaNow => clock.GetTimestamp() >= _replicaRetryAt;

    /// <summary>Notices a crash, reads the status over a fresh connection, fences a hung server.</summary>
    public async Task ObserveAsync(CancellationToken ct)
    {
        var process = _process;
        if (process is null)
        {
            Status = null;
            return;
        }
        if (process.HasExited)
        {
            if (_expected && State is not (PostmasterState.Fenced or PostmasterState.Crashed))
            {
                events.Failed($"PostgreSQL exited unexpectedly (exit code {process.ExitCode})");
                State = PostmasterState.Crashed;
            }
            Status = null;
            return;
        }
        if (State == PostmasterState.Starting || _stopping)
        {
            // A planned stop is not a hang: counting a shutting-down server's refusals as unanswered
            // checks fenced a switchover's clean stop under load ("did not shut down cleanly in time").
            return;
        }
        if (await TryReadStatusAsync(ct))
        {
            _unanswered = 0;
            State = PostmasterState.Running;
        }
        else if (!process.HasExited && State != PostmasterState.Fenced)
        {
            State = PostmasterState.NotAnswering;
            if (++_unanswered >= HungAfterUnansweredChecks)
            {
                await FenceAsync($"it did not answer {_unanswered} status checks in a row (hung)");
            }
        }
    }

    /// <summary>
    /// Writes the configuration for the role and starts the postmaster; returns once it accepts
    /// connections. Throws when it exits during start-up or does not answer within <paramref name="timeout"/>.
    /// </summary>
    public async Task StartAsync(NodeConfig? upstream, bool standby, HotStandbySettings? floor, TimeSpan timeout, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_process is { HasExited: false } running)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"PostgreSQL is already running (PID {running.Pid})");
            }
            var parameters = Parameters;
            node.WriteConfiguration(upstream, standby || upstream is not null, floor, parameters);
            RenderedParameters = parameters;
            (_standby, _floor) = (standby || upstream is not null, floor);
            if (!standby && upstream is null)
            {
                node.ClearStandbySignal();
            }
            if (_process is { } old)
            {
                _process = null;
                await old.DisposeAsync();
            }
            node.ClearConnectionPool();
            Upstream = upstream;
            if (Failed)
            {
                var now = clock.GetTimestamp();
                _recoveries = _lastRecovery is { } last && clock.GetElapsedTime(last, now) > TimeSpan.FromMinutes(10) ? 1 : _recoveries + 1;
                _lastRecovery = now;
            }
            Failed = false;
            _unanswered = 0;
            State = PostmasterState.Starting;
            _process = node.StartPostmaster();
            _expected = true;
            watchdog.Watch(_process.Pid);
            events.Info($"PostgreSQL started (PID {_process.Pid}) as {(upstream is not null ? $"replica of {upstream.Name}" : standby ? "read-only replica without upstream" : "primary")}");
            var deadline = clock.GetTimestamp() + (long)(timeout.TotalSeconds * clock.TimestampFrequency);
            while (true)
            {
                if (_process.HasExited)
                {
                    State = PostmasterState.Crashed;
                    _expected = false;
                    throw new PgWardenException(ExitCodes.OperationFailed, $"PostgreSQL exited during start-up (code {_process.ExitCode}); see its log");
                }
                if (await TryReadStatusAsync(ct))
                {
                    State = PostmasterState.Running;
                    return;
                }
                if (clock.GetTimestamp() > deadline)
                {
                    throw new PgWardenException(ExitCodes.Timeout, $"PostgreSQL did not accept connections within {timeout.TotalSeconds:0} s");
                }
                await Task.Delay(TimeSpan.FromMilliseconds(100), clock, ct);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the postmaster (if running) in <paramref name="mode"/>, killing it after the grace period.</summary>
    public async Task StopAsync(ShutdownMode mode, TimeSpan? grace = null)
    {
        _expected = false;
        await _gate.WaitAsync();
        try
        {
            if (_process is { } process)
            {
                if (!process.HasExited)
                {
                    var within = grace ?? (mode == ShutdownMode.Immediate ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(60));
                    _stopping = true;
                    try
                    {
                        if (!await process.StopAsync(mode, within))
                        {
                            events.Failed($"PostgreSQL did not stop ({mode}) within {within.TotalSeconds:0} s and was killed");
                        }
                    }
                    finally
                    {
                        _stopping = false;
                    }
                }
                await process.DisposeAsync();
                _process = null;
            }
            Status = null;
            Upstream = null;
            RenderedParameters = null;
            if (State != PostmasterState.Fenced)
            {
                State = PostmasterState.Stopped;
            }
            watchdog.Watch(0);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Kills the postmaster and every backend at once, so it cannot accept another write; marks the node failed.</summary>
    public async Task FenceAsync(string why)
    {
        _expected = false;
        if (_process is { HasExited: false } process)
        {
            var killed = process.KillTree();
            events.Failed($"fenced PostgreSQL ({killed} processes killed): {why}");
            await process.Exited;
        }
        Failed = true;
        Status = null;
        State = PostmasterState.Fenced;
        _unanswered = 0;
        watchdog.Watch(0);
    }

    /// <summary>Repoints a running replica (primary_conninfo changes take a reload in PostgreSQL 13+).</summary>
    public void Repoint(NodeConfig upstream, HotStandbySettings? floor)
    {
        var parameters = Parameters;
        node.WriteConfiguration(upstream, true, floor, parameters);
        (Upstream, RenderedParameters, _standby, _floor) = (upstream, parameters, true, floor);
        _process?.Reload();
    }

    /// <summary>Rewrites the configuration of a running primary (e.g. after promotion) and reloads it.</summary>
    public void ConfigureAsPrimary()
    {
        var parameters = Parameters;
        node.WriteConfiguration(null, false, null, parameters);
        (Upstream, RenderedParameters, _standby, _floor) = (null, parameters, false, null);
        _process?.Reload();
    }

    /// <summary>
    /// Re-renders the running server's configuration for the role it has (same upstream and
    /// hot-standby floor) with the current <see cref="Parameters"/>, sends SIGHUP, and waits (at most
    /// <paramref name="wait"/>) until the server reports a newer pg_conf_load_time, so that
    /// <see cref="Status"/> shows what the reload changed (pending restarts, rejected lines).
    /// False when no server runs or it did not confirm the reload in time.
    /// </summary>
    public async Task<bool> ReloadConfigurationAsync(TimeSpan wait, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_process is not { HasExited: false } process || State != PostmasterState.Running)
            {
                return false;
            }
            var before = Status?.ConfLoadTime;
            var parameters = Parameters;
            node.WriteConfiguration(Upstream, _standby, _floor, parameters);
            RenderedParameters = parameters;
            process.Reload();
            var deadline = clock.GetTimestamp() + (long)(wait.TotalSeconds * clock.TimestampFrequency);
            while (clock.GetTimestamp() <= deadline)
            {
                if (await TryReadStatusAsync(ct) && (before is null || Status?.ConfLoadTime > before))
                {
                    return true;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(50), clock, ct);
            }
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Claims an in-place restart of a crashed primary. The first crash within
    /// <see cref="PrimaryRestartWindow"/> is restarted and the node keeps leading; a second is
    /// restarted only to hand over cleanly (its crash recovery brings back commits no replica
    /// received yet, which a failover would lose); a third marks the node failed (the lease must go).
    /// </summary>
    public PrimaryRestart TryUsePrimaryRestart()
    {
        var now = clock.GetTimestamp();
        if (_lastPrimaryRestart is not { } last || clock.GetElapsedTime(last, now) >= PrimaryRestartWindow)
        {
            _primaryRestartsInWindow = 0;
        }
        _lastPrimaryRestart = now;
        _primaryRestartsInWindow++;
        switch (_primaryRestartsInWindow)
        {
            case 1:
                return PrimaryRestart.KeepLeading;
            case 2:
                return PrimaryRestart.ThenHandOver;
            default:
                Failed = true;
                return PrimaryRestart.Refused;
        }
    }

    /// <summary>A node that takes the lease starts with a clean crash count (crashes as an earlier leader do not count).</summary>
    public void ResetPrimaryRestarts()
    {
        _lastPrimaryRestart = null;
        _primaryRestartsInWindow = 0;
    }

    /// <summary>Marks the node failed (a primary that did not come back within its budget).</summary>
    public void MarkFailed() => Failed = true;

    public void ReplicaStarted()
    {
        StartFailures = 0;
        _replicaBackoff = TimeSpan.FromSeconds(1);
    }

    public void ReplicaStartFailed()
    {
        StartFailures++;
        _replicaRetryAt = clock.GetTimestamp() + (long)(_replicaBackoff.TotalSeconds * clock.TimestampFrequency);
        _replicaBackoff = TimeSpan.FromSeconds(Math.Min(30, _replicaBackoff.TotalSeconds * 2));
    }

    /// <summary>Reads the status now (after a promotion, say); false if PostgreSQL does not answer in time.</summary>
    public Task<bool> RefreshAsync(CancellationToken ct) => TryReadStatusAsync(ct);

    private async Task<bool> TryReadStatusAsync(CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(StatusTimeout);
        try
        {
            Status = await node.QueryStatusAsync(deadline.Token);
            return true;
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            Status = null;
            return false;
        }
    }
}
