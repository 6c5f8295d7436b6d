using Microsoft.Extensions.Logging;
using PgWarden.Agent.Ha;

namespace PgWarden.Agent;

/// <summary>The agent's <see cref="AgentEvents"/>: log lines with the node's name, and the metrics' counters.</summary>
public sealed class LoggingAgentEvents(string node, ILogger log, AgentMetrics metrics) : AgentEvents
{
    public override void Decided(string reason) => AgentLog.Decided(log, node, reason);

    public override void Failed(string message) => AgentLog.Failed(log, node, message);

    public override void Info(string message) => AgentLog.Info(log, node, message);

    public override void Promoted() => metrics.Promoted();

    public override void PostgresRestarted() => metrics.PostgresRestarted();
}
