using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;
using PgWarden.Pooler;

namespace PgWarden.Agent;

/// <summary>
/// Steers one PgBouncer on its own, apart from the database agents: it watches the DCS (the leader
/// lease and the members) five times a second and repoints PgBouncer when the leader or the set of
/// streaming replicas changes. The crash of a database host therefore never takes a PgBouncer's
/// steering down with it.
/// </summary>
public sealed class PoolerService(ClusterConfig cluster, PgBouncerInstance bouncer, ClusterSecrets secrets, IDcs dcs, ILogger<PoolerService> log) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(200);
    private string? _primary;
    private bool _dcsDown;

    private string PoolerName => Path.GetFileName(bouncer.HomeDir);

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        bouncer.Prepare(secrets);
        while (!ct.IsCancellationRequested)
        {
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
                if (bouncer.Apply(primary, replicas))
                {
                    _primary = primary?.Name;
                    AgentLog.Routed(log, PoolerName, cluster.Database.Name, primary?.Name ?? "(none)",
                        replicas.Count == 0 ? "(primary)" : string.Join(",", replicas.Select(r => r.Name)));
                }
            }
            await Task.Delay(Period, ct);
        }
    }

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
