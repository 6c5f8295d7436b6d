using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;
using PgWarden.Pooler;

namespace PgWarden.Agent;

/// <summary>
/// Steers one PgBouncer on its own, apart from the database agents: it reads the DCS (the leader
/// lease and the members) whenever a key of the cluster changes (an etcd watch) and at least five
/// times a second, and repoints PgBouncer when the leader or the set of streaming replicas changes.
/// The crash of a database host therefore never takes a PgBouncer's steering down with it.
/// </summary>
public sealed class PoolerService(ClusterConfig cluster, PgBouncerInstance bouncer, ClusterSecrets secrets, IDcs dcs, PgBouncerAdmin admin, ILogger<PoolerService> log) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the pooler looks whether its PgBouncer was left paused.</summary>
    private static readonly TimeSpan PauseCheckEvery = TimeSpan.FromSeconds(2);

    /// <summary>A PgBouncer paused this long with no switchover under way is resumed (a switchover command that died between PAUSE and RESUME).</summary>
    public static readonly TimeSpan LeftPausedAfter = TimeSpan.FromSeconds(30);

    private string? _primary;
    private bool _dcsDown;
    private DateTimeOffset _nextPauseCheck;
    private DateTimeOffset? _pausedSince;
    private FailoverRequest? _switchover;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string PoolerName => Path.GetFileName(bouncer.HomeDir);

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        bouncer.Prepare(secrets);
        // A promoted leader publishes its member key as primary: routing on that change, not at the
        // next poll, is what keeps a switchover's pause short.
        _ = dcs.WatchAsync(_ => Interlocked.Exchange(ref _wake, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(), ct);
        while (!ct.IsCancellationRequested)
        {
            var woken = Volatile.Read(ref _wake).Task;
            ClusterView? view = null;
            try
            {
                view = await dcs.ReadAsync(ct);
                _dcsDown = false;
            }
            catch (DcsUnavailableException e)
            {
                if (!_dcsDown)
                {
                    AgentLog.PoolerWarning(log, PoolerName, $"the DCS is unreachable, keeping the current routes: {e.Message}");
                }
                _dcsDown = true;
            }
            if (bouncer.Process is { HasExited: true })
            {
                AgentLog.PoolerWarning(log, PoolerName, $"pgbouncer exited (code {bouncer.Process.ExitCode}); restarting it");
                bouncer.Invalidate();
            }
            if (view is not null || bouncer.Process is null or { HasExited: true })
            {
                var (primary, replicas) = view is null ? (Current(), []) : PoolerRoutes.Choose(cluster, view, _primary);
                RememberSwitchover(view);
                if (bouncer.Apply(primary, replicas))
                {
                    var resume = PoolerRoutes.EndsSwitchover(_switchover, _primary, primary?.Name, DateTimeOffset.UtcNow);
                    _primary = primary?.Name;
                    AgentLog.Routed(log, PoolerName, cluster.Database.Name, primary?.Name ?? "(none)",
                        replicas.Count == 0 ? "(primary)" : string.Join(",", replicas.Select(r => r.Name)));
                    if (resume)
                    {
                        _switchover = null;
                        await ResumeAfterSwitchoverAsync(ct);
                    }
                }
            }
            if (DateTimeOffset.UtcNow >= _nextPauseCheck && bouncer.Process is { HasExited: false })
            {
                _nextPauseCheck = DateTimeOffset.UtcNow + PauseCheckEvery;
                await ResumeIfLeftPausedAsync(view, ct);
            }
            await Task.WhenAny(Task.Delay(Period, ct), woken);
        }
    }

    /// <summary>
    /// The switchover under way, remembered past the moment the new leader removes the request
    /// from the DCS (it may do so before this pooler reads the new routes).
    /// </summary>
    private void RememberSwitchover(ClusterView? view)
    {
        if (view?.Failover is { Kind: FailoverKind.Switchover, To: not null } request && request.IsActive(DateTimeOffset.UtcNow))
        {
            _switchover = request;
        }
        else if (_switchover is { } known && !known.IsActive(DateTimeOffset.UtcNow))
        {
            _switchover = null;
        }
    }

    /// <summary>
    /// The switchover command paused this PgBouncer and resumes it once it routes to the new primary;
    /// the pooler, which writes that route, resumes it at once (RELOAD, then RESUME) and saves the
    /// command's round trips from the pause. Not paused (nobody paused it): nothing to do.
    /// </summary>
    private async Task ResumeAfterSwitchoverAsync(CancellationToken ct)
    {
        try
        {
            await admin.ReloadAndResumeAsync(Pooler, cluster.Database.Name, TimeSpan.FromSeconds(10), ct);
            AgentLog.PoolerInfo(log, PoolerName, $"switchover: resumed {cluster.Database.Name} on the new primary {_primary}");
        }
        catch (PgWarden.Core.Errors.PgWardenException e) when (!e.Message.Contains("is not paused", StringComparison.Ordinal))
        {
            AgentLog.PoolerWarning(log, PoolerName, $"switchover: could not resume {cluster.Database.Name} (the switchover command resumes it): {e.Message}");
        }
        catch (PgWarden.Core.Errors.PgWardenException)
        {
        }
    }

    /// <summary>
    /// Every PgBouncer that was sent PAUSE gets RESUME from the switchover command on every way out;
    /// should that command die in between, its pooler resumes it once no switchover is under way for
    /// <see cref="LeftPausedAfter"/>. (An operator's own PAUSE is resumed too: PgWarden owns these PgBouncers.)
    /// </summary>
    private async Task ResumeIfLeftPausedAsync(ClusterView? view, CancellationToken ct)
    {
        var db = cluster.Database.Name;
        bool? paused;
        try
        {
            paused = await admin.IsPausedAsync(Pooler, db, ct);
        }
        catch (PgWarden.Core.Errors.PgWardenException e)
        {
            AgentLog.PoolerWarning(log, PoolerName, $"could not read the pause state: {e.Message}");
            return;
        }
        var switchover = view?.Failover is { Kind: FailoverKind.Switchover } r && r.IsActive(DateTimeOffset.UtcNow);
        if (paused != true || switchover)
        {
            _pausedSince = paused == true ? _pausedSince : null;
            return;
        }
        _pausedSince ??= DateTimeOffset.UtcNow;
        if (DateTimeOffset.UtcNow - _pausedSince < LeftPausedAfter)
        {
            return;
        }
        try
        {
            await admin.RunAsync(Pooler, $"RESUME {db}", TimeSpan.FromSeconds(10), ct);
            AgentLog.PoolerWarning(log, PoolerName, $"{db} was left paused for {(DateTimeOffset.UtcNow - _pausedSince.Value).TotalSeconds:0} s with no switchover under way: resumed it");
            _pausedSince = null;
        }
        catch (PgWarden.Core.Errors.PgWardenException e)
        {
            AgentLog.PoolerWarning(log, PoolerName, $"could not resume {db}: {e.Message}");
        }
    }

    private PoolerConfig Pooler => cluster.Pooler(PoolerName);

    private NodeConfig? Current() => cluster.Nodes.FirstOrDefault(n => n.Name == _primary);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await bouncer.DisposeAsync();
    }
}

/// <summary>The pure routing rule of a pooler.</summary>
public static class PoolerRoutes
{
    /// <summary>
    /// Whether a route change from <paramref name="previousPrimary"/> to <paramref name="newPrimary"/>
    /// completes <paramref name="switchover"/>: the writes now go to the node it was to promote, and the
    /// request has not expired (an expired request was dropped by the agents; the command resumes).
    /// </summary>
    public static bool EndsSwitchover(FailoverRequest? switchover, string? previousPrimary, string? newPrimary, DateTimeOffset now) =>
        switchover is { Kind: FailoverKind.Switchover } s && s.IsActive(now)
        && newPrimary is not null && newPrimary == s.To && newPrimary != previousPrimary;

    /// <summary>
    /// Writes go to the leader-lease holder once it reports a running primary; while no node holds
    /// the lease the pooler keeps its current route (the fenced old primary refuses writes, so
    /// clients get errors rather than a second writer). Reads go to the streaming replicas.
    /// </summary>
    public static (NodeConfig? Primary, IReadOnlyList<NodeConfig> Replicas) Choose(ClusterConfig cluster, ClusterView view, string? currentPrimary)
    {
        var leader = view.Leader?.Name;
        NodeConfig? primary = leader is not null && view.Members.TryGetValue(leader, out var m) && m is { PostgresRunning: true, Role: NodeRole.Primary }
            ? cluster.Nodes.FirstOrDefault(n => n.Name == leader)
            : cluster.Nodes.FirstOrDefault(n => n.Name == currentPrimary);
        var replicas = cluster.Nodes
            .Where(n => n.Name != primary?.Name && view.Members.TryGetValue(n.Name, out var r) && r is { PostgresRunning: true, Role: NodeRole.Replica, State: "streaming" })
            .ToList();
        return (primary, replicas);
    }
}
