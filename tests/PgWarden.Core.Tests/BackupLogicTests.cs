using System.Buffers.Binary;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Rendering;

namespace PgWarden.Core.Tests;

/// <summary>Pure backup logic: WAL names and headers, repository layout, manifests, retention, the backup config section and its rendering.</summary>
public sealed class BackupLogicTests
{
    [Theory]
    [InlineData("000000010000000000000003", WalFileKind.Segment, 1u)]
    [InlineData("0000000200000001000000FF.partial", WalFileKind.Partial, 2u)]
    [InlineData("00000003.history", WalFileKind.History, 3u)]
    [InlineData("000000010000000000000002.00000028.backup", WalFileKind.BackupHistory, 1u)]
    public void WalFileNamesAreRecognised(string name, WalFileKind kind, uint timeline)
    {
        var parsed = WalFileName.TryParse(name);
        Assert.NotNull(parsed);
        Assert.Equal(kind, parsed.Kind);
        Assert.Equal(timeline, parsed.Timeline);
    }

    [Theory]
    [InlineData("00000001000000000000000")]
    [InlineData("000000010000000000000003.zst")]
    [InlineData("../000000010000000000000003")]
    [InlineData("00000001000000000000000g")]
    [InlineData("archive_status")]
    public void OtherNamesAreNotWal(string name) => Assert.Null(WalFileName.TryParse(name));

    [Fact]
    public void SegmentNamesFollowXLogFileName()
    {
        Assert.Equal("000000010000000000000002", WalFileName.SegmentName(1, 0x2000028));
        Assert.Equal("0000000200000001000000FF", WalFileName.SegmentName(2, 0x1_FF00_0000));
        Assert.Equal(0x1FFUL, WalFileName.TryParse("0000000200000001000000FF")!.SegmentNumber());
    }

    [Fact]
    public void TheLongPageHeaderGivesTheSystemIdentifierAtOffset24()
    {
        var page = new byte[8192];
        BinaryPrimitives.WriteUInt16LittleEndian(page, 0xD110);
        BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(2), 0x0002 | 0x0004);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(8), 0x3000000);
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(24), 7712563486184713769UL);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(32), 16 * 1024 * 1024);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(36), 8192);
        var header = WalHeader.TryParse(page);
        Assert.NotNull(header);
        Assert.Equal(7712563486184713769UL, header.SystemIdentifier);
        Assert.Equal(1u, header.Timeline);
        Assert.Equal(0x3000000UL, header.PageAddress);
        Assert.Equal(16u * 1024 * 1024, header.SegmentSize);

        BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(2), 0x0000);
        Assert.Null(WalHeader.TryParse(page));
        Assert.Null(WalHeader.TryParse(new byte[10]));
    }

    [Fact]
    public void LayoutNamesWalAndBackups()
    {
        var layout = new RepositoryLayout("demo", "7712563486184713769");
        Assert.Equal("demo/7712563486184713769/wal/000000010000000000000003.zst", layout.WalKey("000000010000000000000003"));
        Assert.Equal("000000010000000000000003", layout.WalNameOf(layout.WalKey("000000010000000000000003")));
        Assert.Null(layout.WalNameOf("demo/7712563486184713769/backups/x/manifest.json"));
        Assert.Equal("demo/7712563486184713769/backups/20250101T000000Z-physical/manifest.json", layout.ManifestKey("20250101T000000Z-physical"));
    }

    private static BackupManifest Physical(string id, DateTimeOffset start, string startWal) => new()
    {
        Id = id, Type = "physical", Cluster = "demo", SystemId = "1", SourceNode = "pg1", StartTime = start, StopTime = start.AddMinutes(1),
        Timeline = 1, StartLsn = "0/0", StopLsn = "0/0", StartWal = startWal, StopWal = startWal,
        Files = [new BackupFile("base.tar.zst", 100, 10, "aa", "bb")],
    };

    [Fact]
    public void ManifestsRoundTripThroughJson()
    {
        var m = Physical("20250101T000000Z-physical", new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), "000000010000000000000005");
        var back = BackupManifest.Parse(m.ToJson());
        Assert.Equal(m.Id, back.Id);
        Assert.Equal(m.StartWal, back.StartWal);
        Assert.Equal(100, back.Size);
        Assert.Equal(10, back.StoredSize);
        Assert.Contains("\"start_wal\"", m.ToJson());
    }

    [Fact]
    public void RetentionKeepsEveryWalTheOldestKeptBackupNeeds()
    {
        var now = new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var backups = new[]
        {
            WalTestData.Physical("old", 1, 0x0200_0028, 0x0200_0100, now.AddDays(-40)),
            WalTestData.Physical("mid", 1, 0x1000_0028, 0x1000_0100, now.AddDays(-20)),
            WalTestData.Physical("new", 2, 0x2000_0028, 0x2000_0100, now.AddDays(-1)),
        };
        var wal = new[]
        {
            "000000010000000000000001", "000000010000000000000002", "00000001000000000000000F", "000000010000000000000010",
            "000000010000000000000011.partial", "00000002.history", "000000010000000000000003.00000028.backup", "000000020000000000000021",
        };
        var timelines = new ArchivedTimelines(new Dictionary<uint, Ha.TimelineHistory> { [2] = Ha.TimelineHistory.Parse(2, "1\t0/18000000\tno recovery target specified\n") }, 2);
        var plan = RetentionPlanner.Plan(backups, wal, timelines, now, keepDays: 30, keepCount: null);
        Assert.Equal(["old"], plan.ExpiredBackups.Select(b => b.Id));
        Assert.Equal(["mid", "new"], plan.KeptBackups.Select(b => b.Id));
        Assert.Equal(["000000010000000000000001", "000000010000000000000002", "00000001000000000000000F", "000000010000000000000003.00000028.backup"], plan.ExpiredWal);

        var byCount = RetentionPlanner.Plan(backups, wal, timelines, now, keepDays: null, keepCount: 1);
        Assert.Equal(["new"], byCount.KeptBackups.Select(b => b.Id));
        Assert.DoesNotContain("000000020000000000000021", byCount.ExpiredWal);
        Assert.DoesNotContain("00000002.history", byCount.ExpiredWal);
        Assert.Contains("000000010000000000000010", byCount.ExpiredWal);
        Assert.Contains("000000010000000000000011.partial", byCount.ExpiredWal);
    }

    [Fact]
    public void RetentionAlwaysKeepsTheNewestPhysicalBackupAndItsWal()
    {
        var now = new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var plan = RetentionPlanner.Plan([WalTestData.Physical("only", 1, 0x0900_0028, 0x0900_0100, now.AddDays(-90))],
            ["000000010000000000000009", "00000001000000000000000A"], ArchivedTimelines.None, now, keepDays: 30, keepCount: null);
        Assert.Empty(plan.ExpiredBackups);
        Assert.Empty(plan.ExpiredWal);
        Assert.Empty(RetentionPlanner.Plan([], ["000000010000000000000001"], ArchivedTimelines.None, now, 30, null).ExpiredWal);
    }

    private const string WithBackup = TestClusters.ThreeNodes + "\nbackup:\n  repository: { type: fs, path: backups }\n";

    [Fact]
    public void BackupSectionDefaultsFollowTheRunbook()
    {
        var c = TestClusters.Parse(WithBackup);
        var b = c.Backup!;
        Assert.Equal(RepositoryKind.Fs, b.Repository);
        Assert.Equal("/tmp/base/backups", b.Path);
        Assert.Equal(30, b.RetentionDays);
        Assert.Null(b.RetentionCount);
        Assert.Equal("0 2 * * *", b.LogicalSchedule);
        Assert.Equal("0 3 * * 0", b.PhysicalSchedule);
        Assert.Equal(300, b.ArchiveTimeoutSeconds);
        Assert.Null(TestClusters.Demo().Backup);
    }

    [Theory]
    [InlineData("  repository: { type: ftp, path: x }", "backup.repository.type: 'ftp' must be fs or s3")]
    [InlineData("  repository: { type: s3, bucket: B_ad }", "backup.repository.bucket: 'B_ad' is not a valid bucket name")]
    [InlineData("  repository: { type: s3, bucket: ok-bucket, endpoint: 'ftp://x' }", "backup.repository.endpoint: 'ftp://x' must be an http:// or https:// URL")]
    [InlineData("  repository: { type: fs, path: x }\n  retention_days: 0", "backup.retention_days")]
    [InlineData("  repository: { type: fs, path: x }\n  schedule: { logical: 'every day' }", "backup.schedule.logical: 'every day' is not a cron expression")]
    [InlineData("  repository: { type: fs, path: x }\n  colour: blue", "backup.colour: unknown key")]
    [InlineData("  retention_days: 3", "backup.repository: is required")]
    public void BadBackupSectionsAreNamed(string section, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(TestClusters.ThreeNodes + "\nbackup:\n" + section + "\n"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ArchivingIsRenderedOnlyWithABackupSection()
    {
        var plain = PostgresConfRenderer.Render(TestClusters.Context(TestClusters.Demo(), "pg1", null));
        Assert.DoesNotContain("archive_mode", plain);

        var cluster = TestClusters.Parse(WithBackup) with { };
        var ctx = TestClusters.Context(cluster, "pg1", null) with { PgWardenBinary = "/opt/pg warden/pgwarden" };
        var conf = PostgresConfRenderer.Render(ctx);
        Assert.Contains("archive_mode = always", conf);
        Assert.Contains("archive_timeout = 300", conf);
        Assert.Contains("archive_command = '''/opt/pg warden/pgwarden'' wal-push --config test.yaml %p'", conf);
        Assert.Contains("restore_command = '''/opt/pg warden/pgwarden'' wal-fetch --config test.yaml %f %p'", conf);
    }

    [Fact]
    public async Task FsRepositoryNeverOverwrites()
    {
        var root = Path.Combine(Path.GetTempPath(), "pgwarden-unit-" + Guid.NewGuid().ToString("N"));
        try
        {
            var repo = new FsRepository(root, null);
            var meta = new Dictionary<string, string> { ["sha256"] = "abc" };
            Assert.True(await repo.PutIfAbsentAsync("c/1/wal/x.zst", new MemoryStream([1, 2, 3]), meta, CancellationToken.None));
            Assert.False(await repo.PutIfAbsentAsync("c/1/wal/x.zst", new MemoryStream([9]), new Dictionary<string, string>(), CancellationToken.None));
            var stat = await repo.StatAsync("c/1/wal/x.zst", CancellationToken.None);
            Assert.Equal(3, stat!.Size);
            Assert.Equal("abc", stat.Metadata["sha256"]);
            Assert.Equal(["c/1/wal/x.zst"], (await repo.ListAsync("c/1/", CancellationToken.None)).Select(o => o.Key));
            Assert.Empty(Directory.GetFiles(Path.Combine(root, "c/1/wal"), ".*"));
            Assert.Throws<ArgumentException>(() => repo.ExistsAsync("../x", CancellationToken.None).GetAwaiter().GetResult());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
