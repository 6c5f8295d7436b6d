using Cronos;
using PgWarden.Core.Dcs;

namespace PgWarden.Core.Backups;

/// <summary>
/// Decides whether the leader starts a scheduled backup (a pure function of the schedule, the
/// last run recorded in the DCS, which members are alive and the time). The slot is the newest
/// cron occurrence not in the future; it runs at most once across the cluster: a slot that
/// succeeded or failed is done, one still running on a live member is left to it, one whose
/// runner died (its member key expired) is taken over. A slot missed by more than
/// <see cref="MissedRunWindow"/> (no leader at the time) is skipped, not run late; so is a slot that
/// passed before the cluster was created (a cluster created at 02:30 does not run the 02:00 dump at once).
/// </summary>
public static class BackupSchedulePlanner
{
    public static readonly TimeSpan MissedRunWindow = TimeSpan.FromHours(1);

    /// <param name="clusterCreated">When the cluster was created (<see cref="Ha.SystemIdentifierTime"/>); null when unknown.</param>
    public static ScheduleDecision Decide(
        string kind,
        CronExpression schedule,
        TimeZoneInfo zone,
        ScheduledBackupRun? last,
        IReadOnlySet<string> liveMembers,
        string self,
        DateTimeOffset now,
        DateTimeOffset? clusterCreated)
    {
        var slot = LatestOccurrence(schedule, zone, now);
        if (slot is null)
        {
            var next = schedule.GetNextOccurrence(now, zone);
            return ScheduleDecision.Wait($"no {kind} backup due in the last {MissedRunWindow.TotalMinutes:0} minutes; next at {next:yyyy-MM-dd HH:mm:ss zzz}");
        }
        if (slot < clusterCreated)
        {
            var next = schedule.GetNextOccurrence(now, zone);
            return ScheduleDecision.Wait($"the {kind} backup slot of {slot:u} passed before the cluster was created ({clusterCreated:u}); next at {next:yyyy-MM-dd HH:mm:ss zzz}");
        }
        if (last is not null && last.Slot >= slot)
        {
            return last.Status switch
            {
                ScheduledBackupRun.Running when last.Node == self =>
                    ScheduleDecision.Wait($"the {kind} backup of {slot:u} is running here"),
                ScheduledBackupRun.Running when liveMembers.Contains(last.Node) =>
                    ScheduleDecision.Wait($"the {kind} backup of {slot:u} is running on {last.Node}"),
                ScheduledBackupRun.Running =>
                    new ScheduleDecision(true, slot, $"the {kind} backup of {slot:u} started on {last.Node}, which is gone; running it here"),
                _ => ScheduleDecision.Wait($"the {kind} backup of {slot:u} already ran on {last.Node} ({last.Status})"),
            };
        }
        return new ScheduleDecision(true, slot, $"the {kind} backup of {slot:u} is due");
    }

    /// <summary>The newest occurrence in (now - window, now], or null.</summary>
    public static DateTimeOffset? LatestOccurrence(CronExpression schedule, TimeZoneInfo zone, DateTimeOffset now)
    {
        DateTimeOffset? latest = null;
        foreach (var occurrence in schedule.GetOccurrences(now - MissedRunWindow, now, zone, fromInclusive: false, toInclusive: true))
        {
            latest = occurrence;
        }
        return latest;
    }
}
