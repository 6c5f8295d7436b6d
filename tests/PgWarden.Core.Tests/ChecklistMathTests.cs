using PgWarden.Monitoring.Checks;

namespace PgWarden.Core.Tests;

public class ChecklistMathTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void GrowthPerDayIsTheLeastSquaresSlope()
    {
        var samples = Enumerable.Range(0, 10).Select(d => (Now.AddDays(d - 9), 1_000_000L + d * 500_000L)).ToList();
        Assert.Equal(500_000, SizeHistory.GrowthPerDay(samples, Now, TimeSpan.FromDays(90))!.Value, precision: 3);
    }

    [Fact]
    public void GrowthNeedsTwoSamplesAnHourApart()
    {
        Assert.Null(SizeHistory.GrowthPerDay([(Now, 10L)], Now, TimeSpan.FromDays(90)));
        Assert.Null(SizeHistory.GrowthPerDay([(Now.AddMinutes(-30), 10L), (Now, 20L)], Now, TimeSpan.FromDays(90)));
        Assert.Null(SizeHistory.GrowthPerDay([(Now.AddDays(-200), 10L), (Now.AddDays(-100), 20L)], Now, TimeSpan.FromDays(90)));
    }

    [Fact]
    public void HistoryRoundTripsThroughItsFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"pgw-hist-{Guid.NewGuid():N}", "h.log");
        try
        {
            SizeHistory.Append(file, Now.AddDays(-1), 100);
            SizeHistory.Append(file, Now, 300);
            File.AppendAllText(file, "garbage line\n");
            var read = SizeHistory.Read(file);
            Assert.Equal([100L, 300L], read.Select(r => r.Bytes));
            Assert.Equal(200, SizeHistory.GrowthPerDay(read, Now, TimeSpan.FromDays(90))!.Value, precision: 3);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    [Fact]
    public void CapacityFailsWhenTheDiskFillsWithinAWeek()
    {
        var dir = Path.GetTempPath();
        var free = new DriveInfo(dir).AvailableFreeSpace;
        // Growth of a fifth of the free space per day: full in five days.
        var perDay = free / 5;
        var history = new List<(DateTimeOffset, long)> { (Now.AddDays(-2), 0), (Now.AddDays(-1), perDay), (Now, 2 * perDay) };
        var ctx = new ChecklistContext(new Dictionary<string, PgWarden.Core.Ha.NodeStatus?>(), "unused", dir, new CheckThresholds(), Now);
        var result = Checklist.Capacity(history, 2 * perDay, ctx);
        Assert.Equal(CheckStatus.Fail, result.Status);
        Assert.Contains("full in about 5 days", result.Reason);

        var slow = new List<(DateTimeOffset, long)> { (Now.AddDays(-2), 0), (Now.AddDays(-1), 1), (Now, 2) };
        Assert.Equal(CheckStatus.Ok, Checklist.Capacity(slow, 2, ctx).Status);
    }

    [Fact]
    public void ExitCodeIsTheWorstStatus()
    {
        Assert.Equal(0, CheckResult.ExitCode([CheckResult.Ok("a", "")]));
        Assert.Equal(1, CheckResult.ExitCode([CheckResult.Ok("a", ""), CheckResult.Warn("b", "")]));
        Assert.Equal(2, CheckResult.ExitCode([CheckResult.Fail("a", ""), CheckResult.Warn("b", "")]));
        Assert.Equal(0, CheckResult.ExitCode([]));
    }
}
