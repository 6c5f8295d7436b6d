using PgWarden.Core.Backups;
using PgWarden.Monitoring.Checks;

namespace PgWarden.Core.Tests;

/// <summary>The checklist's backup items judged from the catalog summary (schedules in the host's time zone; tests run in UTC).</summary>
public sealed class BackupChecksTests
{
    // Thursday 2026-11-26 10:00 local: the daily 02:00 slot is 8 h old, the weekly Sunday 03:00 slot 4 days.
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 10, 0, 0, TimeZoneInfo.Local.GetUtcOffset(new DateTime(2026, 11, 26)));

    private static BackupCatalogSummary Summary(DateTimeOffset? logical, DateTimeOffset? physical, string logicalCron = "0 2 * * *", string physicalCron = "0 3 * * 0") =>
        new("fs:/repo", logical, physical, null, null, null, logicalCron, physicalCron);

    [Fact]
    public void BackupsAfterTheirLastSlotsAreOk()
    {
        var r = BackupChecks.Backups(Summary(Now.AddHours(-7.9), Now.AddDays(-3.9)), Now);
        Assert.Equal(CheckStatus.Ok, r.Status);
    }

    [Fact]
    public void AMissedDailySlotFails()
    {
        var r = BackupChecks.Backups(Summary(Now.AddHours(-30), Now.AddDays(-3.9)), Now);
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("the newest logical backup is 30 h old", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NoBackupAtAllFailsOnceASlotPassed()
    {
        var r = BackupChecks.Backups(Summary(null, null), Now);
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("no logical backup at all", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ABackupStillWithinItsFinishAllowanceIsNotLate()
    {
        // 01:00 now: the 02:00 slot of yesterday is the one that counts, and it ran.
        var early = Now.AddHours(-9);
        var r = BackupChecks.Backups(Summary(early.AddHours(-22.9), early.AddDays(-3)), early);
        Assert.Equal(CheckStatus.Ok, r.Status);
    }

    [Fact]
    public void SchedulesSwitchedOffAreNotRequired()
    {
        var r = BackupChecks.Backups(Summary(null, Now.AddDays(-1), logicalCron: "off"), Now);
        Assert.Equal(CheckStatus.Ok, r.Status);
    }

    [Fact]
    public void AClusterCreatedAfterTheLastSlotsIsNotFailedForThem()
    {
        // Created at 09:00 today: the 02:00 dump and Sunday's base backup were due before it existed.
        var r = BackupChecks.Backups(Summary(null, null) with { ClusterCreated = Now.AddHours(-1) }, Now);
        Assert.Equal(CheckStatus.Ok, r.Status);
        Assert.Contains("no logical yet (the cluster was created", r.Reason, StringComparison.Ordinal);
        Assert.Contains("no physical yet (the cluster was created", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ASlotAfterTheClusterWasCreatedStillCounts()
    {
        // Created at 01:00 today: the 02:00 dump was due and did not run; Sunday's base backup was before it.
        var r = BackupChecks.Backups(Summary(null, null) with { ClusterCreated = Now.AddHours(-9) }, Now);
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("no logical backup at all", r.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("physical backup at all", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void NothingScheduledAndNoBackupWarns()
    {
        var none = BackupChecks.Backups(Summary(null, null, logicalCron: "off", physicalCron: "off"), Now);
        Assert.Equal(CheckStatus.Warn, none.Status);
        Assert.Contains("no backup is scheduled", none.Reason, StringComparison.Ordinal);
        var manual = BackupChecks.Backups(Summary(null, Now.AddDays(-1), logicalCron: "off", physicalCron: "off"), Now);
        Assert.Equal(CheckStatus.Ok, manual.Status);
    }

    [Fact]
    public void NoBackupSectionWarnsAndAnUnreadableRepositoryFails()
    {
        Assert.Equal(CheckStatus.Warn, BackupChecks.Backups(null, Now).Status);
        var broken = Summary(null, null) with { Error = "connection refused" };
        Assert.Equal(CheckStatus.Fail, BackupChecks.Backups(broken, Now).Status);
        Assert.Equal(CheckStatus.Fail, BackupChecks.RestoreTest(broken, Now).Status);
    }

    [Fact]
    public void RestoreTestAgesAndFailures()
    {
        Assert.Equal(CheckStatus.Warn, BackupChecks.RestoreTest(Summary(null, null), Now).Status);
        Assert.Equal(CheckStatus.Ok, BackupChecks.RestoreTest(Summary(null, null) with { LastRestoreTest = Now.AddDays(-2), LastRestoreTestOk = true }, Now).Status);
        Assert.Equal(CheckStatus.Warn, BackupChecks.RestoreTest(Summary(null, null) with { LastRestoreTest = Now.AddDays(-9), LastRestoreTestOk = true }, Now).Status);
        var failed = BackupChecks.RestoreTest(Summary(null, null) with { LastRestoreTest = Now.AddDays(-1), LastRestoreTestOk = false, LastRestoreTestDetail = "sanity query failed" }, Now);
        Assert.Equal(CheckStatus.Fail, failed.Status);
        Assert.Contains("sanity query failed", failed.Reason, StringComparison.Ordinal);
    }
}
