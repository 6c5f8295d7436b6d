using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;
using PgWarden.Pooler;

namespace PgWarden.Agent;

/// <summary>
/// Steers one PgBouncer on its own, apart from the database agents: every second it asks the
/// agents who is primary and which replicas stream, and repoints PgBouncer when that changes.
/// The crash of a database host therefore never takes a PgBouncer's steering down with it.
/// </summary>
public sealed class PoolerService(ClusterConfig cluster, PgBouncerInstance bouncer, ClusterSecrets secrets, ILogger<PoolerService> log) : BackgroundService
{
    private readonly AgentClient _agents = new(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(2)));
    private string? _primary;

    public string Name => bouncer.HomeDir;

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        bouncer.Prepare(secrets);
        while (!ct.IsCancellationRequested)
        {
            var statuses = await _agents.GetAllAsync(cluster.Nodes, ct);
            var (primary, replicas) = PoolerRoutes.Choose(cluster, statuses, _primary);
            if (bouncer.Process is { HasExited: true })
            {
                AgentLog.PoolerWarning(log, Path.GetFileName(bouncer.HomeDir), $"pgbouncer exited (code {bouncer.Process.ExitCode}); restarting it");
                bouncer.Invalidate();
            }
            if (bouncer.Apply(primary, replicas))
            {
                _primary = primary?.Name;
                AgentLog.Routed(log, Path.GetFileName(bouncer.HomeDir), cluster.Database.Name, primary?.Name ?? "(none)",
                    replicas.Count == 0 ? "(primary)" : string.Join(",", replicas.Select(r => r.Name)));
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }

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
    /// The write route goes to the one running primary. If several claim it, the pooler keeps the
    /// primary it had (never moves writes on ambiguous information); if none answers, it keeps the
    /// last one so clients get errors from it rather than from an empty route. Reads go to the
    /// replicas that are streaming.
    /// </summary>
    public static (NodeConfig? Primary, IReadOnlyList<NodeConfig> Replicas) Choose(
        ClusterConfig cluster, IReadOnlyDictionary<string, NodeStatus?> statuses, string? currentPrimary)
    {
        var primaries = cluster.Nodes.Where(n => statuses.GetValueOrDefault(n.Name) is { Role: NodeRole.Primary, PostgresRunning: true }).ToList();
        NodeConfig? primary = primaries.Count switch
        {
            1 => primaries[0],
            _ => cluster.Nodes.FirstOrDefault(n => n.Name == currentPrimary),
        };
        var replicas = cluster.Nodes.Where(n => statuses.GetValueOrDefault(n.Name) is { IsStreamingReplica: true }).ToList();
        return (primary, replicas);
    }
}
