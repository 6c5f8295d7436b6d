using PgWarden.Core.Backups;
using PgWarden.Core.Config;

namespace PgWarden.Monitoring.Checks;

/// <summary>
/// The checklist's backup items. Daily "backups": each scheduled backup type has a backup that
/// started at or after its last slot older than <see cref="FinishAllowance"/> (time for the backup
/// to finish) — a slot that passed before the cluster was created was not missed; nothing scheduled
/// and no backup at all is a warning. Weekly "restore test": a restore test passed within the last 8 days.
/// </summary>
public static class BackupChecks
{
    public static readonly TimeSpan FinishAllowance = TimeSpan.FromHours(2);
    public static readonly TimeSpan RestoreTestMaxAge = TimeSpan.FromDays(8);

    public static CheckResult Backups(BackupCatalogSummary? summary, DateTimeOffset now)
    {
        const string name = "backups";
        if (summary is null)
        {
            return CheckResult.Warn(name, "no backup: section in the configuration: no backups, no WAL archive, no point-in-time recovery");
        }
        if (summary.Error is { } error)
        {
            return CheckResult.Fail(name, $"cannot read the backup repository {summary.Repository}: {error}");
        }
        if (summary.LogicalSchedule == CronSchedule.Off && summary.PhysicalSchedule == CronSchedule.Off
            && summary.NewestLogical is null && summary.NewestPhysical is null)
        {
            return CheckResult.Warn(name, $"no backup is scheduled (backup.schedule: logical and physical are off) and {summary.Repository} holds none: take one with `pgwarden backup physical`, or set a schedule");
        }
        var problems = new List<string>();
        var fine = new List<string>();
        foreach (var (type, schedule, newest) in new[] { ("logical", summary.LogicalSchedule, summary.NewestLogical), ("physical", summary.PhysicalSchedule, summary.NewestPhysical) })
        {
            if (schedule == CronSchedule.Off)
            {
                fine.Add(newest is { } n0 ? $"{type} {Age(now - n0)} old (not scheduled)" : $"no {type} (not scheduled)");
                continue;
            }
            var cron = CronSchedule.Parse(schedule);
            var due = LastOccurrenceBefore(cron, now - FinishAllowance);
            if (due is null || due < summary.ClusterCreated)
            {
                fine.Add(newest is { } n1 ? $"{type} {Age(now - n1)} old"
                    : due is null ? $"no {type} yet (first slot not reached)"
                    : $"no {type} yet (the cluster was created {summary.ClusterCreated:yyyy-MM-dd HH:mm}, after the last slot)");
            }
            else if (newest is null || newest < due.Value.AddMinutes(-1))
            {
                problems.Add(newest is { } n2
                    ? $"the newest {type} backup is {Age(now - n2)} old: the {due:yyyy-MM-dd HH:mm} slot did not produce one"
                    : $"no {type} backup at all (schedule '{schedule}', last slot {due:yyyy-MM-dd HH:mm})");
            }
            else
            {
                fine.Add($"{type} {Age(now - newest.Value)} old");
            }
        }
        return problems.Count > 0
            ? CheckResult.Fail(name, string.Join("; ", problems) + " (`pgwarden status` shows the scheduled runs)")
            : CheckResult.Ok(name, string.Join(", ", fine) + $" in {summary.Repository}");
    }

    /// <summary>
    /// Daily "archived WAL": the archive has no hole after the oldest physical backup on the current timeline's
    /// history — recovery stops at a missing segment, so what was committed after it cannot be restored.
    /// </summary>
    public static CheckResult ArchivedWal(BackupCatalogSummary? summary)
    {
        const string name = "archived WAL";
        return summary is null ? CheckResult.Warn(name, "no backup: section in the configuration: no WAL archive")
            : summary.Error is { } error ? CheckResult.Fail(name, $"cannot read the backup repository {summary.Repository}: {error}")
            : summary.WalGap is { } gap ? CheckResult.Fail(name, $"{gap}: point-in-time recovery cannot pass the hole (put the file back, or take a new physical backup: `pgwarden backup physical`)")
            : CheckResult.Ok(name, summary.NewestPhysical is null ? "no physical backup to recover from yet" : "continuous from the oldest physical backup on the current timeline's history");
    }

    public static CheckResult RestoreTest(BackupCatalogSummary? summary, DateTimeOffset now)
    {
        const string name = "restore test";
        if (summary is null)
        {
            return CheckResult.Warn(name, "no backup: section in the configuration, so nothing to restore");
        }
        if (summary.Error is { } error)
        {
            return CheckResult.Fail(name, $"cannot read the backup repository {summary.Repository}: {error}");
        }
        if (summary.LastRestoreTest is not { } at)
        {
            return CheckResult.Warn(name, "no backup was ever restore-tested (`pgwarden backup verify latest --restore-test`)");
        }
        if (summary.LastRestoreTestOk != true)
        {
            return CheckResult.Fail(name, $"the last restore test ({at:yyyy-MM-dd HH:mm}) failed: {summary.LastRestoreTestDetail}");
        }
        return now - at > RestoreTestMaxAge
            ? CheckResult.Warn(name, $"the last restore test passed {Age(now - at)} ago, more than a week (`pgwarden backup verify latest --restore-test`)")
            : CheckResult.Ok(name, $"the last restore test passed {Age(now - at)} ago");
    }

    private static DateTimeOffset? LastOccurrenceBefore(Cronos.CronExpression cron, DateTimeOffset until)
    {
        // Weekly schedules are the longest the runbook uses; look back far enough for monthly ones too.
        DateTimeOffset? last = null;
        foreach (var o in cron.GetOccurrences(until.AddDays(-62), until, TimeZoneInfo.Local, fromInclusive: true, toInclusive: true))
        {
            last = o;
        }
        return last;
    }

    private static string Age(TimeSpan age) =>
        age.TotalDays >= 2 ? $"{age.TotalDays:0} days" : age.TotalHours >= 2 ? $"{age.TotalHours:0} h" : $"{Math.Max(0, age.TotalMinutes):0} min";
}
