namespace PgWarden.Core.Dcs;

/// <summary>One promotion: the new timeline, where the old one ended, who took over and why.</summary>
public sealed record TimelineHistoryEntry(long Timeline, long SwitchLsn, string NewLeader, string Reason, DateTimeOffset At);
