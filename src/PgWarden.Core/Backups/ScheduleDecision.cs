namespace PgWarden.Core.Backups;

/// <summary>What the scheduler does about one backup kind now: run the slot or not, and why.</summary>
public sealed record ScheduleDecision(bool Run, DateTimeOffset? Slot, string Reason)
{
    public static ScheduleDecision Wait(string reason) => new(false, null, reason);
}
