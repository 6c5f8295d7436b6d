using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgWarden.Core.Ha;
using PgWarden.Monitoring.Checks;
using Prometheus;

namespace PgWarden.Agent;

/// <summary>
/// On the leader, runs `check daily` every few minutes and exports each item's status
/// (pgwarden_check_status: 0 OK, 1 WARN, 2 FAIL) so Prometheus alerts on the runbook's checklist.
/// </summary>
public sealed class ScheduledDailyCheck(AgentContext ctx, NodeState state, CollectorRegistry registry, ILogger<ScheduledDailyCheck> log) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(5);

    private readonly Gauge _status = Prometheus.Metrics.WithCustomRegistry(registry)
        .CreateGauge("pgwarden_check_status", "Result of the scheduled daily check per item: 0 OK, 1 WARN, 2 FAIL (leader only).", "period", "item");
    private readonly Gauge _lastRun = Prometheus.Metrics.WithCustomRegistry(registry)
        .CreateGauge("pgwarden_check_last_run_timestamp_seconds", "When the scheduled daily check last ran (Unix seconds).");

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        await using var appDatabase = Npgsql.NpgsqlDataSource.Create(ctx.Postgres.LocalConnectionString(ctx.Cluster.Database.Name));
        // Every 10 s until this node first leads and the check ran, then every Period.
        var wait = TimeSpan.FromSeconds(10);
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(wait, ct);
            var s = state.Current;
            if (s.Role != NodeRole.Primary || s.Leader != s.Name || !s.PostgresRunning)
            {
                wait = TimeSpan.FromSeconds(10);
                continue;
            }
            try
            {
                var nodes = await ctx.Peers.GetAllAsync(ctx.Cluster.Nodes, ct);
                var checkContext = new ChecklistContext(nodes, Path.Combine(ctx.Cluster.BaseDir, "state", "size-history.log"),
                    ctx.Postgres.DataDir, new CheckThresholds(), DateTimeOffset.UtcNow)
                {
                    Backups = await Backup.Catalog.CatalogSummaryReader.ReadAsync(ctx.Cluster, ct),
                };
                await using var conn = await appDatabase.OpenConnectionAsync(ct);
                var results = await Checklist.RunAsync("daily", conn, checkContext, ct);
                foreach (var labels in _status.GetAllLabelValues().ToList())
                {
                    _status.RemoveLabelled(labels);
                }
                foreach (var r in results)
                {
                    _status.WithLabels("daily", r.Name).Set((int)r.Status);
                }
                _lastRun.SetToCurrentTimeUtc();
                wait = Period;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                AgentLog.Failed(log, ctx.Node.Name, $"scheduled daily check failed: {e.Message}");
            }
        }
    }
}
