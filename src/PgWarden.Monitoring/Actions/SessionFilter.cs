namespace PgWarden.Monitoring.Actions;

/// <summary>
/// Which sessions `pgwarden kill` targets: <see cref="SessionKind.Idle"/> sessions idle for longer
/// than <see cref="OlderThan"/> (since their last state change), or <see cref="SessionKind.LongRunning"/>
/// queries active for longer than it (since query start), optionally only in one database or of one user.
/// </summary>
public sealed record SessionFilter(SessionKind Kind, TimeSpan OlderThan, string ReplicationRole, string? Database = null, string? User = null);
