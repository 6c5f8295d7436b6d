namespace PgWarden.Core.Dcs;

/// <summary>A switchover (planned, from the current leader) or failover (no healthy leader) request.</summary>
public sealed record FailoverRequest(string Kind, string? From, string? To, DateTimeOffset RequestedAt);
