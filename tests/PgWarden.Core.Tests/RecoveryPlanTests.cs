using System.Diagnostics;
using PgWarden.Backup;
using PgWarden.Backup.Logical;
using PgWarden.Backup.Physical;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

/// <summary>
/// How a point-in-time recovery follows the archive's history (review findings 2 and 3): the timeline the
/// target lies on, a true history file, holes in the archive refused up front; and the small pure pieces
/// around restores (target times, database names, stale local staging).
/// </summary>
public sealed class RecoveryPlanTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-01T10:00:00Z");

    private static ulong Seg(ulong n) => n * WalTestData.SegmentSize;

    // tl1 → tl2 at 0/31000000, tl2 → tl3 at 0/33000000: the cluster failed over twice after a backup on tl1 at segment 0x10.
    private static readonly ArchivedTimelines ThreeTimelines = new(new Dictionary<uint, TimelineHistory>
    {
        [2] = TimelineHistory.Parse(2, "1\t0/31000000\tno recovery target specified\n"),
        [3] = TimelineHistory.Parse(3, "1\t0/31000000\tno recovery target specified\n2\t0/33000000\tno recovery target specified\n"),
    }, 3);

    private static readonly Backup.Catalog.BackupManifest B1 = WalTestData.Physical("b1", 1, Seg(0x10) + 0x28, Seg(0x10) + 0x100, T0);

    private static List<string> Archive(params (uint Timeline, ulong From, ulong To)[] ranges)
    {
        var names = new List<string> { "00000002.history", "00000003.history" };
        foreach (var (tli, from, to) in ranges)
        {
            for (var s = from; s <= to; s++)
            {
                names.Add(WalFileName.SegmentNameOf(tli, s));
            }
        }
        return names;
    }

    private static readonly List<string> Continuous = Archive((1, 0x10, 0x30), (2, 0x31, 0x32), (3, 0x33, 0x35));

    private static RecoveryTarget Target(DateTimeOffset? time = null, string? lsn = null, string? name = null, bool immediate = false) =>
        new(time, lsn, name, null, immediate, "promote");

    [Fact]
    public void RecoveryFollowsTheTimelineTheTargetLiesOn()
    {
        Assert.Equal(1u, RecoveryPlan.Decide(B1, Target(immediate: true), ThreeTimelines, Continuous).Timeline);
        Assert.Equal(1u, RecoveryPlan.Decide(B1, Target(lsn: "0/20000000"), ThreeTimelines, Continuous).Timeline);
        // A position exactly at a switch point belongs to the timeline that starts there.
        Assert.Equal(2u, RecoveryPlan.Decide(B1, Target(lsn: "0/31000000"), ThreeTimelines, Continuous).Timeline);
        Assert.Equal(3u, RecoveryPlan.Decide(B1, Target(lsn: "0/34000000"), ThreeTimelines, Continuous).Timeline);
        Assert.Equal(3u, RecoveryPlan.Decide(B1, Target(), ThreeTimelines, Continuous).Timeline);
        // A time or a restore point: known only by replaying (a first pass pauses there along timeline 3).
        Assert.Null(RecoveryPlan.Decide(B1, Target(time: T0.AddHours(1)), ThreeTimelines, Continuous).Timeline);
        Assert.Null(RecoveryPlan.Decide(B1, Target(name: "p"), ThreeTimelines, Continuous).Timeline);
        // A backup on the newest timeline has nowhere else to go.
        var onThree = WalTestData.Physical("b3", 3, Seg(0x34), Seg(0x34) + 0x100, T0);
        Assert.Equal(3u, RecoveryPlan.Decide(onThree, Target(time: T0.AddHours(1)), ThreeTimelines, Continuous).Timeline);
        // A backup of the branch timeline 3 left (tl2 after 0/33000000) cannot recover along it.
        var abandoned = WalTestData.Physical("b2", 2, Seg(0x33) + 0x28, Seg(0x33) + 0x100, T0);
        Assert.Contains("abandoned branch", Assert.Throws<PgWardenException>(() => RecoveryPlan.Decide(abandoned, Target(), ThreeTimelines, Continuous)).Message);
    }

    [Fact]
    public void AHoleInTheArchiveIsRefusedWhereverTheTargetIsKnown()
    {
        var holed = Continuous.Where(n => n != "000000010000000000000020").ToList();
        var end = Assert.Throws<PgWardenException>(() => RecoveryPlan.Decide(B1, Target(), ThreeTimelines, holed));
        Assert.Equal(ExitCodes.UnsafeRefused, end.ExitCode);
        Assert.Contains("000000010000000000000020 is missing", end.Message);
        Assert.Contains("000000030000000000000035", end.Message);
        Assert.Throws<PgWardenException>(() => RecoveryPlan.Decide(B1, Target(lsn: "0/34000000"), ThreeTimelines, holed));
        // Targets before the hole need nothing after it.
        Assert.Equal(1u, RecoveryPlan.Decide(B1, Target(lsn: "0/18000000"), ThreeTimelines, holed).Timeline);
        Assert.Equal(1u, RecoveryPlan.Decide(B1, Target(immediate: true), ThreeTimelines, holed).Timeline);
        // From a switch point on, recovery reads the next timeline's file: the left timeline's copy does not stand in for it.
        var switchSegment = Archive((1, 0x10, 0x30), (2, 0x31, 0x33), (3, 0x33, 0x35)).Where(n => n != "000000030000000000000033").ToList();
        Assert.Contains("000000030000000000000033", Assert.Throws<PgWardenException>(() => RecoveryPlan.Decide(B1, Target(), ThreeTimelines, switchSegment)).Message);
        Assert.Null(ArchiveContinuity.FindGap(TimelinePath.To(3, ThreeTimelines), 1, (long)Seg(0x10), Continuous));
        // Missing WAL at the end is not a hole: nothing later is archived (the current segment, not archived yet).
        Assert.Null(ArchiveContinuity.FindGap(TimelinePath.To(3, ThreeTimelines), 1, (long)Seg(0x10), Continuous.Where(n => n != "000000030000000000000035").ToList()));
    }

    [Fact]
    public void TheHistoryAPromotionWritesMustBeTrue()
    {
        var plan = RecoveryPlan.Decide(B1, Target(lsn: "0/20000000"), ThreeTimelines, Continuous);
        // What PostgreSQL writes after recovering along timeline 3 to a point on timeline 1 (the review's false history).
        var falseHistory = TimelineHistory.Parse(4, "1\t0/31000000\tx\n2\t0/33000000\tx\n3\t0/20000000\tbefore 2026-11-01\n");
        Assert.NotNull(plan.HistoryProblem(falseHistory, 4, 1));
        Assert.Contains("never followed", plan.HistoryProblem(falseHistory, 4, 1));
        Assert.Null(plan.HistoryProblem(TimelineHistory.Parse(4, "1\t0/20000000\tbefore 2026-11-01\n"), 4, 1));
        var end = RecoveryPlan.Decide(B1, Target(), ThreeTimelines, Continuous);
        Assert.Null(end.HistoryProblem(TimelineHistory.Parse(4, "1\t0/31000000\tx\n2\t0/33000000\tx\n3\t0/35800000\tx\n"), 4, 3));
        Assert.Contains("timeline 2", end.HistoryProblem(TimelineHistory.Parse(4, "1\t0/31000000\tx\n2\t0/32000000\tx\n3\t0/35800000\tx\n"), 4, 3));
        // Recovery to the end of the archive must have reached the newest archived segment.
        Assert.Null(end.StoppedEarly(B1, (long)Seg(0x35) + 0x800000));
        Assert.Contains("000000030000000000000035", end.StoppedEarly(B1, (long)Seg(0x21)));
    }

    [Theory]
    [InlineData("2026-11-30 10:00", "2026-11-30T10:00:00.0000000+00:00")]
    [InlineData("2026-11-30 10:00:05.123456+01", "2026-11-30T09:00:05.1234560+00:00")]
    [InlineData("2026-11-30T10:00:05Z", "2026-11-30T10:00:05.0000000+00:00")]
    [InlineData("2026-11-30 10:00:05-05:30", "2026-11-30T15:30:05.0000000+00:00")]
    [InlineData("2026-11-30", "2026-11-30T00:00:00.0000000+00:00")]
    public void TargetTimesInUnambiguousFormsAreRead(string text, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), TargetTime.TryParse(text));

    [Theory]
    [InlineData("01/12/2026 10:00")]
    [InlineData("30/11/2026")]
    [InlineData("Nov 30 2026 10:00")]
    [InlineData("2026-02-30 10:00")]
    [InlineData("2026-11-30 25:00")]
    [InlineData("yesterday")]
    public void AmbiguousOrImpossibleTargetTimesAreRefused(string text) => Assert.Null(TargetTime.TryParse(text));

    [Fact]
    public void AnyDatabaseNameIsQuotedForTheCommandLine()
    {
        Assert.Equal("dbname='Odd DB ü'", Sql.DbName("Odd DB ü"));
        Assert.Equal(@"dbname='a\'b\\c=d'", Sql.DbName(@"a'b\c=d"));
        Assert.Equal("\"We said \"\"hi\"\"\"", Sql.Ident("We said \"hi\""));
    }

    // Findings 9 and 11: what a killed process left is removed; what a running one uses is not.
    [Fact]
    public void StagingOfProcessesThatAreGoneIsSwept()
    {
        var parent = Directory.CreateTempSubdirectory("pgwarden-test-").FullName;
        try
        {
            using var finished = Process.Start(new ProcessStartInfo("/bin/true"))!;
            finished.WaitForExit();
            var gone = Path.Combine(parent, $"pgwarden-dump-{finished.Id}-0a0b0c0d");
            Directory.CreateDirectory(Path.Combine(gone, "dump"));
            File.WriteAllText(Path.Combine(gone, "dump", "toc.dat"), "x");
            var mine = LocalStaging.NewPath(parent, LocalStaging.RestoreDump);
            Directory.CreateDirectory(mine);
            // A --keep-running restore's socket directory: its creator is gone, its server is not (this process stands in).
            var socket = Path.Combine(parent, $"pgwarden-restore-socket-{finished.Id}-0a0b0c0e");
            Directory.CreateDirectory(socket);
            File.WriteAllText(Path.Combine(socket, ".s.PGSQL.5432.lock"), $"{Environment.ProcessId}\n");
            var legacy = Path.Combine(parent, "pgwarden-dump-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(legacy);
            Directory.SetLastWriteTimeUtc(legacy, DateTime.UtcNow.AddDays(-2));
            var unrelated = Path.Combine(parent, "pgwarden-keep-me");
            Directory.CreateDirectory(unrelated);

            var removed = LocalStaging.SweepStale(parent, _ => { });

            Assert.Equal(new[] { gone, legacy }.Order(StringComparer.Ordinal), removed.Order(StringComparer.Ordinal));
            Assert.True(Directory.Exists(mine) && Directory.Exists(socket) && Directory.Exists(unrelated));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }
}
