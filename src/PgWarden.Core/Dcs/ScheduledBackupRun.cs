namespace PgWarden.Core.Dcs;

/// <summary>
/// The last scheduled backup of one kind (logical or physical), kept in the DCS so that a new
/// leader knows whether the current slot already ran: <paramref name="Slot"/> is the cron
/// occurrence it belongs to; <paramref name="Status"/> is running, succeeded or failed.
/// </summary>
public sealed record ScheduledBackupRun(
    string Kind,
    DateTimeOffset Slot,
    string Node,
    string Status,
    DateTimeOffset Started,
    DateTimeOffset? Finished = null,
    string? Detail = null)
{
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    /// <summary>"scheduled logical backup", "scheduled restore test", for messages.</summary>
    public string What => Kind == "verify" ? "scheduled restore test" : $"scheduled {Kind} backup";

    /// <summary>When a scheduled backup of this kind last succeeded (carried over from run to run).</summary>
    public DateTimeOffset? LastSuccess { get; init; }
}
