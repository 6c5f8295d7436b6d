namespace PgWarden.Monitoring.Actions;

/// <summary>One session `pgwarden kill` would terminate; <see cref="AgeSeconds"/> is idle time or query run time.</summary>
public sealed record SessionInfo(
    int Pid,
    string? User,
    string? Database,
    string? Application,
    string? Client,
    string? State,
    double AgeSeconds,
    string QueryHead);
