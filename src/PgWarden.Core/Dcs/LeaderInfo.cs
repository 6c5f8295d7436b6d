namespace PgWarden.Core.Dcs;

/// <summary>The leader key: who holds the lease, and the lease's id (for diagnostics).</summary>
public sealed record LeaderInfo(string Name, long LeaseId);
