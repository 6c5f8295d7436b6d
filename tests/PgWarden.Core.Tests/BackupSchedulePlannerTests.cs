using PgWarden.Core.Backups;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;

namespace PgWarden.Core.Tests;

/// <summary>The scheduler's decision: each cron slot runs once across the cluster, also across a failover.</summary>
public sealed class BackupSchedulePlannerTests
{
    private static readonly Cronos.CronExpression Daily2am = CronSchedule.Parse("0 2 * * *");
    private static readonly DateTimeOffset Slot = new(2026, 11, 26, 2, 0, 0, TimeSpan.Zero);
    private static readonly HashSet<string> AllAlive = ["pg1", "pg2", "pg3"];

    private static ScheduleDecision Decide(ScheduledBackupRun? last, DateTimeOffset now, IReadOnlySet<string>? alive = null, string self = "pg2", DateTimeOffset? created = null) =>
        BackupSchedulePlanner.Decide("logical", Daily2am, TimeZoneInfo.Utc, last, alive ?? AllAlive, self, now, created);

    private static ScheduledBackupRun Run(string node, string status, DateTimeOffset slot) => new("logical", slot, node, status, slot.AddSeconds(1));

    [Fact]
    public void ADueSlotWithoutARecordRuns()
    {
        var d = Decide(null, Slot.AddSeconds(5));
        Assert.True(d.Run);
        Assert.Equal(Slot, d.Slot);
    }

    [Fact]
    public void NothingIsDueBetweenSlots()
    {
        var d = Decide(null, Slot.AddHours(5));
        Assert.False(d.Run);
        Assert.Contains("next at 2026-11-27 02:00:00", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ASlotThatPassedBeforeTheClusterWasCreatedIsNotRun()
    {
        var d = Decide(null, Slot.AddMinutes(30), created: Slot.AddMinutes(20));
        Assert.False(d.Run);
        Assert.Contains("passed before the cluster was created", d.Reason, StringComparison.Ordinal);
        Assert.Contains("next at 2026-11-27 02:00:00", d.Reason, StringComparison.Ordinal);
        Assert.True(Decide(null, Slot.AddMinutes(30), created: Slot.AddMinutes(-5)).Run);
    }

    [Fact]
    public void ASlotMissedByMoreThanTheWindowIsNotRunLate()
    {
        Assert.True(Decide(null, Slot + BackupSchedulePlanner.MissedRunWindow - TimeSpan.FromSeconds(1)).Run);
        Assert.False(Decide(null, Slot + BackupSchedulePlanner.MissedRunWindow + TimeSpan.FromSeconds(1)).Run);
    }

    [Theory]
    [InlineData(ScheduledBackupRun.Succeeded)]
    [InlineData(ScheduledBackupRun.Failed)]
    public void ASlotThatRanOnTheOldLeaderIsNotRepeatedAfterAFailover(string status)
    {
        var d = Decide(Run("pg1", status, Slot), Slot.AddMinutes(10), alive: new HashSet<string> { "pg2", "pg3" });
        Assert.False(d.Run);
        Assert.Contains($"already ran on pg1 ({status})", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ASlotRunningOnALiveMemberIsLeftToIt()
    {
        var d = Decide(Run("pg1", ScheduledBackupRun.Running, Slot), Slot.AddMinutes(10));
        Assert.False(d.Run);
        Assert.Contains("running on pg1", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ASlotWhoseRunnerDiedIsTakenOver()
    {
        var d = Decide(Run("pg1", ScheduledBackupRun.Running, Slot), Slot.AddMinutes(10), alive: new HashSet<string> { "pg2", "pg3" });
        Assert.True(d.Run);
        Assert.Equal(Slot, d.Slot);
        Assert.Contains("pg1, which is gone", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ItsOwnRunningSlotIsNotStartedTwice()
    {
        Assert.False(Decide(Run("pg2", ScheduledBackupRun.Running, Slot), Slot.AddMinutes(1)).Run);
    }

    [Fact]
    public void ARecordOfAnEarlierSlotDoesNotBlockTheNextOne()
    {
        var d = Decide(Run("pg1", ScheduledBackupRun.Succeeded, Slot.AddDays(-1)), Slot.AddSeconds(30));
        Assert.True(d.Run);
        Assert.Equal(Slot, d.Slot);
    }

    [Fact]
    public void SixFieldExpressionsHaveSecondsFirst()
    {
        var every20s = CronSchedule.Parse("*/20 * * * * *");
        var now = new DateTimeOffset(2026, 11, 26, 10, 0, 45, TimeSpan.Zero);
        Assert.Equal(now.AddSeconds(-5), BackupSchedulePlanner.LatestOccurrence(every20s, TimeZoneInfo.Utc, now));
    }

    [Fact]
    public void TheDefaultScheduleIsTheRunbooks()
    {
        var config = TestClusters.Parse(TestClusters.ThreeNodes + "\nbackup:\n  repository: { type: fs, path: repo }\n");
        Assert.Equal("0 2 * * *", config.Backup!.LogicalSchedule);
        Assert.Equal("0 3 * * 0", config.Backup.PhysicalSchedule);
        Assert.Equal("0 5 * * 0", config.Backup.VerifySchedule);
    }
}
