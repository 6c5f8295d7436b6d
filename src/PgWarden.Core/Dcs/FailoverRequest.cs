namespace PgWarden.Core.Dcs;

/// <summary>
/// A switchover (planned, from the current leader) or manual failover (no healthy leader) request,
/// as stored in the DCS. It is carried out or abandoned by <see cref="Deadline"/>: an expired
/// request is ignored by every agent, so a hand-over that cannot complete never leaves the cluster
/// waiting for it.
/// </summary>
/// <param name="From">The leader when the request was made (null for a failover without one).</param>
/// <param name="To">The node that is to lead.</param>
public sealed record FailoverRequest(FailoverKind Kind, string? From, string? To, DateTimeOffset RequestedAt)
{
    /// <summary>The default time a request has to complete: 30 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Wall-clock time after which the request is void (requested_at + 30 s when absent).</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>When the request stops counting.</summary>
    public DateTimeOffset ExpiresAt => Deadline ?? RequestedAt + DefaultTimeout;

    public bool IsActive(DateTimeOffset now) => now < ExpiresAt;

    public string Describe() => $"{(Kind == FailoverKind.Switchover ? "switchover" : "failover")} to {To}";
}
