using System.Buffers.Binary;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Verify;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tests;

/// <summary>Pure logic of `backup verify`: the WAL a backup needs, WAL header checks, verification records, dump owners, the report.</summary>
public sealed class BackupVerifyLogicTests
{
    private const string SystemId = "7712563486184713769";

    private static BackupManifest Physical(uint timeline, string? startWal, string? stopWal) => new()
    {
        Id = "20250101T000000Z-physical", Type = "physical", Cluster = "demo", SystemId = SystemId, SourceNode = "pg1",
        StartTime = DateTimeOffset.UnixEpoch, StopTime = DateTimeOffset.UnixEpoch, Timeline = timeline, StartWal = startWal, StopWal = stopWal,
    };

    [Fact]
    public void ABackupWithinOneSegmentNeedsOnlyThatSegmentOnTimelineOne()
    {
        var need = WalRequirement.Of(Physical(1, "000000010000000000000002", "000000010000000000000002"), []);
        Assert.Equal(["000000010000000000000002"], need.Segments);
        Assert.Null(need.RequiredHistory);
        Assert.Equal(["000000010000000000000002"], need.Files);
    }

    [Fact]
    public void TheSegmentsRunAcrossALogFileBoundary()
    {
        var need = WalRequirement.Of(Physical(1, "0000000100000000000000FE", "000000010000000100000001"), []);
        Assert.Equal(["0000000100000000000000FE", "0000000100000000000000FF", "000000010000000100000000", "000000010000000100000001"], need.Segments);
    }

    [Fact]
    public void AfterAFailoverTheTimelinesHistoryFileIsRequiredAndOtherHistoryFilesAreChecked()
    {
        var archived = new[] { "00000002.history", "00000003.history", "000000020000000000000007", "000000010000000000000005.00000028.backup", "00000002.history" };
        var need = WalRequirement.Of(Physical(2, "000000020000000000000007", "000000020000000000000008"), archived);
        Assert.Equal("00000002.history", need.RequiredHistory);
        Assert.Equal(["00000003.history"], need.OtherHistory);
        Assert.Equal(["00000002.history", "00000003.history", "000000020000000000000007", "000000020000000000000008"], need.Files);
    }

    [Theory]
    [InlineData(1u, null, "000000010000000000000002", "not recorded")]
    [InlineData(1u, "000000010000000000000002.partial", "000000010000000000000002", "not a segment name")]
    [InlineData(2u, "000000010000000000000002", "000000010000000000000002", "not on its timeline 2")]
    [InlineData(1u, "000000010000000000000005", "000000010000000000000002", "not a plausible range")]
    [InlineData(1u, "000000010000000000000000", "0000000100000FFF00000000", "not a plausible range")]
    public void ADamagedManifestIsAProblemNotACrash(uint timeline, string? start, string? stop, string expected)
    {
        var e = Assert.Throws<PgWardenException>(() => WalRequirement.Of(Physical(timeline, start, stop), []));
        Assert.Equal(ExitCodes.OperationFailed, e.ExitCode);
        Assert.Contains("manifest of physical backup 20250101T000000Z-physical is damaged", e.Message);
        Assert.Contains(expected, e.Message);
    }

    private static byte[] Segment(ulong systemId, ulong pageAddress, uint segmentSize = 16 * 1024 * 1024)
    {
        var page = new byte[8192];
        BinaryPrimitives.WriteUInt16LittleEndian(page, 0xD110);
        BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(2), 0x0002);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(8), pageAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(24), systemId);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(32), segmentSize);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(36), 8192);
        return page;
    }

    [Fact]
    public void ArchivedSegmentsMustBelongToTheSystemAndTheirOwnAddress()
    {
        var backup = Physical(1, "000000010000000000000003", "000000010000000000000003");
        const string name = "000000010000000100000003";
        var address = 0x1_0300_0000UL;
        var system = ulong.Parse(SystemId);
        Assert.Null(ArchivedWalCheck.CheckHeader(backup, name, WalTestData.Segment(system, address)));
        Assert.Contains("belongs to database system 42", ArchivedWalCheck.CheckHeader(backup, name, WalTestData.Segment(42, address)));
        Assert.Contains("not at 1/3000000", ArchivedWalCheck.CheckHeader(backup, name, WalTestData.Segment(system, 0x0300_0000)));
        Assert.Contains("segment size", ArchivedWalCheck.CheckHeader(backup, name, Segment(system, address, 64 * 1024 * 1024)));
        Assert.Contains("not a whole", ArchivedWalCheck.CheckHeader(backup, name, Segment(system, address)));
        Assert.Contains("does not start with a WAL long page header", ArchivedWalCheck.CheckHeader(backup, name, new byte[8192]));
        Assert.Null(ArchivedWalCheck.CheckHeader(backup, "00000002.history", "1\t0/3000000\tno recovery target specified\n"u8));
    }

    [Fact]
    public void VerificationRecordsAreNamedByTimeAndTheNewestWins()
    {
        var early = BackupCatalog.VerificationFileName(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 6, TimeSpan.Zero));
        var late = BackupCatalog.VerificationFileName(new DateTimeOffset(2025, 1, 2, 4, 4, 5, 6, TimeSpan.FromHours(1)).AddDays(1));
        Assert.Equal("verification-20250102T030405.006Z.json", early);
        const string prefix = "demo/1/backups/20250101T000000Z-physical/";
        var keys = new[]
        {
            prefix + "base.tar.zst", prefix + late, prefix + "manifest.json", prefix + early,
            prefix + "sub/verification-20991231T000000.000Z.json",
            "demo/1/backups/20250101T000000Z-physical-other/verification-20991231T000000.000Z.json",
            prefix + "verification-20991231T000000.000Z.json.tmp",
        };
        Assert.Equal(prefix + late, BackupCatalog.LatestVerification(keys, prefix));
        Assert.Null(BackupCatalog.LatestVerification([prefix + "manifest.json"], prefix));
    }

    [Fact]
    public void DumpOwnersComeFromTheLastWordOfEachTocLine()
    {
        // Lines ending in a space (no owner) are written with explicit spaces so no editor trims them.
        var listing = string.Join('\n',
            ";",
            "; Archive created at 2026-11-26 21:59:15 UTC",
            ";     dbname: bookreader",
            ";",
            "2; 3079 16387 EXTENSION - pg_stat_statements ",
            "3473; 0 0 COMMENT - EXTENSION pg_stat_statements ",
            "220; 1259 16431 TABLE public books bookreader_app",
            "3453; 0 16431 TABLE DATA public books bookreader_app",
            "232; 1259 16548 TABLE public verify_rows postgres",
            "3305; 2606 16523 FK CONSTRAINT public subscriptions subscriptions_user_id_fkey reporting",
            "240; 1255 16600 FUNCTION public f(integer, text) analyst",
            "3474; 0 0 SEQUENCE SET public books_id_seq bookreader_app");
        Assert.Equal(["analyst", "bookreader_app", "postgres", "reporting"], DumpToc.Owners(listing));
    }

    [Fact]
    public void TheReportFailsWithItsFirstProblemAndRecordsAll()
    {
        var report = new VerifyReport();
        report.Pass("1 stored file checksummed");
        report.Note("restore test skipped");
        Assert.True(report.Ok);
        Assert.Equal("1 stored file checksummed; restore test skipped", report.Detail);
        Assert.Throws<InvalidOperationException>(() => report.ErrorLine("b1"));

        report.Fail("backup file base.tar.zst is corrupted");
        Assert.Equal("backup b1 FAILED verification: backup file base.tar.zst is corrupted", report.ErrorLine("b1"));
        report.Fail("WAL file 000000010000000000000002 needed by backup b1 is missing");
        report.Fail("pg_verifybackup: checksum mismatch");
        Assert.False(report.Ok);
        Assert.Equal("backup b1 FAILED verification: backup file base.tar.zst is corrupted (and 2 more problems, listed above)", report.ErrorLine("b1"));
        Assert.Equal("backup file base.tar.zst is corrupted; WAL file 000000010000000000000002 needed by backup b1 is missing; pg_verifybackup: checksum mismatch", report.Detail);
    }

    [Fact]
    public async Task AStoredFileWhoseBytesChangedIsNamedByItsChecksum()
    {
        var root = Path.Combine(Path.GetTempPath(), "pgwarden-unit-" + Guid.NewGuid().ToString("N"));
        try
        {
            var repo = new FsRepository(root, null);
            var layout = new RepositoryLayout("demo", SystemId);
            var backup = Physical(1, "000000010000000000000002", "000000010000000000000002");
            var files = new List<BackupFile>();
            foreach (var name in new[] { "a.zst", "b.zst" })
            {
                using var content = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(name, 1000))));
                files.Add(await BackupFileStore.StoreAsync(repo, layout.BackupFileKey(backup.Id, name), name, content, 1, CancellationToken.None));
            }
            backup = backup with { Files = files };
            Assert.Empty(await StoredChecksum.DamagedFilesAsync(repo, backup, CancellationToken.None));

            var stored = Path.Combine(root, layout.BackupFileKey(backup.Id, "b.zst"));
            var bytes = File.ReadAllBytes(stored);
            bytes[bytes.Length / 2] ^= 1;
            File.WriteAllBytes(stored, bytes);
            Assert.Equal(["b.zst"], await StoredChecksum.DamagedFilesAsync(repo, backup, CancellationToken.None));
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public async Task TheArchiveCheckNamesAMissingSegmentAndCopiesTheSoundOnes()
    {
        var root = Path.Combine(Path.GetTempPath(), "pgwarden-unit-" + Guid.NewGuid().ToString("N"));
        try
        {
            var repo = new FsRepository(Path.Combine(root, "repo"), null);
            var layout = new RepositoryLayout("demo", SystemId);
            Directory.CreateDirectory(root);
            var segment = Path.Combine(root, "000000010000000000000002");
            var content = new byte[16 * 1024 * 1024];
            Segment(ulong.Parse(SystemId), 0x0200_0000).CopyTo(content, 0);
            await File.WriteAllBytesAsync(segment, content);
            Assert.True(await new WalArchiver(repo, layout).PushAsync(segment, CancellationToken.None));

            var check = new ArchivedWalCheck(repo, _ => { });
            var walDir = Path.Combine(root, "wal");
            var sound = new VerifyReport();
            Assert.True(await check.RunAsync(Physical(1, "000000010000000000000002", "000000010000000000000002"), walDir, sound, CancellationToken.None));
            Assert.True(sound.Ok);
            Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(walDir, "000000010000000000000002")));

            var missing = new VerifyReport();
            Assert.False(await check.RunAsync(Physical(1, "000000010000000000000002", "000000010000000000000004"), walDir, missing, CancellationToken.None));
            Assert.Equal(["WAL file 000000010000000000000003 needed by backup 20250101T000000Z-physical is missing from the archive in " + repo.Description + " (with 1 more: 000000010000000000000004)"], missing.Problems);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
