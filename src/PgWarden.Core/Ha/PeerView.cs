namespace PgWarden.Core.Ha;

/// <summary>
/// What a node sees of another node of the cluster (through that node's agent API).
/// <paramref name="Reachable"/>: its PostgreSQL runs; <paramref name="AgentAnswered"/>: its agent answered at all.
/// </summary>
public sealed record PeerView(string Name, bool Reachable, NodeRole Role, bool AgentAnswered = true);
