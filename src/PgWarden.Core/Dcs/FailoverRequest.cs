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

    /// <summary>
    /// A scheduled switchover (Patroni's <c>scheduled_at</c>): the leader carries it out at this
    /// wall-clock time, not before; its <see cref="Deadline"/> is this time plus the timeout. Null: at once.
    /// </summary>
    public DateTimeOffset? ScheduledAt { get; init; }

    /// <summary>When the request stops counting.</summary>
    public DateTimeOffset ExpiresAt => Deadline ?? (ScheduledAt ?? RequestedAt) + DefaultTimeout;

    public bool IsActive(DateTimeOffset now) => now < ExpiresAt;

    /// <summary>Its time has come (always, for a request that is not scheduled).</summary>
    public bool IsDue(DateTimeOffset now) => ScheduledAt is not { } at || now >= at;

    /// <summary>Active, but scheduled for later than <paramref name="now"/>.</summary>
    public bool IsWaiting(DateTimeOffset now) => IsActive(now) && !IsDue(now);

    public string Describe() => $"{(Kind == FailoverKind.Switchover ? "switchover" : "failover")} to {To}"
        + (ScheduledAt is { } at ? $" scheduled at {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC" : "");
}
