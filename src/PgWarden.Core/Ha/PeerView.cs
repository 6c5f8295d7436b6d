namespace PgWarden.Core.Ha;

/// <summary>What a node sees of another node of the cluster (through that node's agent API).</summary>
public sealed record PeerView(string Name, bool Reachable, NodeRole Role);
