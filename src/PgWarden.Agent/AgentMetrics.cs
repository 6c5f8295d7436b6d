using PgWarden.Core.Ha;
using Prometheus;

namespace PgWarden.Agent;

/// <summary>The agent's own metrics: role, timeline, restarts it performed, how long its loop takes.</summary>
public sealed class AgentMetrics
{
    private readonly Gauge _isPrimary;
    private readonly Gauge _role;
    private readonly Gauge _timeline;
    private readonly Gauge _postgresRunning;
    private readonly Gauge _isLeader;
    private readonly Gauge _leaseRemaining;
    private readonly Counter _restarts;
    private readonly Counter _promotions;
    private readonly Histogram _loopSeconds;

    public AgentMetrics(CollectorRegistry registry, NodeState state)
    {
        Registry = registry;
        var f = Metrics.WithCustomRegistry(registry);
        _isPrimary = f.CreateGauge("pgwarden_node_is_primary", "1 if this node's PostgreSQL is a writable primary.");
        _role = f.CreateGauge("pgwarden_node_role", "1 for the node's current role.", "role");
        _timeline = f.CreateGauge("pgwarden_timeline", "The node's PostgreSQL timeline.");
        _postgresRunning = f.CreateGauge("pgwarden_postgres_running", "1 if the agent sees its PostgreSQL answering.");
        _isLeader = f.CreateGauge("pgwarden_node_is_leader", "1 if this node holds the leader lease.");
        _leaseRemaining = f.CreateGauge("pgwarden_lease_remaining_seconds", "Seconds until the leader lease this node holds could expire (0 if it holds none).");
        _restarts = f.CreateCounter("pgwarden_postgres_restarts_total", "Times the agent restarted a crashed PostgreSQL.");
        _promotions = f.CreateCounter("pgwarden_failovers_total", "Times this node was promoted to primary (failover or switchover).");
        _loopSeconds = f.CreateHistogram("pgwarden_agent_loop_duration_seconds", "Duration of one supervision loop cycle.",
            new HistogramConfiguration { Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        registry.AddBeforeCollectCallback(() =>
        {
            var s = state.Current;
            _isPrimary.Set(s.Role == NodeRole.Primary && s.PostgresRunning ? 1 : 0);
            foreach (var role in Enum.GetValues<NodeRole>())
            {
                _role.WithLabels(role.ToString().ToLowerInvariant()).Set(role == s.Role ? 1 : 0);
            }
            _timeline.Set(s.Timeline ?? 0);
            _postgresRunning.Set(s.PostgresRunning ? 1 : 0);
            _isLeader.Set(s.LeaseExpiresAt is not null && s.Leader == s.Name ? 1 : 0);
            _leaseRemaining.Set(s.LeaseExpiresAt is { } until ? Math.Max(0, (until - DateTimeOffset.UtcNow).TotalSeconds) : 0);
        });
    }

    public CollectorRegistry Registry { get; }

    public void PostgresRestarted() => _restarts.Inc();

    public void Promoted() => _promotions.Inc();

    public void LoopTook(TimeSpan duration) => _loopSeconds.Observe(duration.TotalSeconds);
}
