using System.Text;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Logical;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tests;

/// <summary>
/// The hostile review of issue 10 ("backups that restore exactly what was committed, or refuse"), at the
/// level of a fake repository and pure functions: each test names the finding it pins down.
/// </summary>
public sealed class BackupReviewTests
{
    private const ulong System = 42;
    private static readonly RepositoryLayout Layout = new("c", "42");
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-01T10:00:00Z");

    private static ulong Seg(ulong n) => n * WalTestData.SegmentSize;

    // Finding 1: after a rebuild to an earlier point, prune keeps the backup that restores the current timeline
    // (not the newest one by start time, which lies on an abandoned branch) and every WAL file it needs along
    // the history to the current timeline; segment numbers are compared per timeline; history files stay.
    [Fact]
    public async Task PruneKeepsTheBackupThatRestoresTheCurrentTimelineAndItsWal()
    {
        var repo = new InMemoryRepository();
        // tl1: B1 at segment 0x10, B2 at 0x20, B3 at 0x30; tl2 left tl1 at 0x31, tl3 left tl2 at 0x33 (the abandoned branch);
        // the rebuild to a point between B1 and B2 started tl4 at 0x18 on tl1; tl5 left tl4 at 0x1A. B4 on tl3 is the newest by time.
        var histories = new Dictionary<uint, string>
        {
            [2] = "1\t0/31000000\tno recovery target specified\n",
            [3] = "1\t0/31000000\tno recovery target specified\n2\t0/33000000\tno recovery target specified\n",
            [4] = "1\t0/18000000\tbefore 2026-11-01 10:30:00+00\n",
            [5] = "1\t0/18000000\tbefore 2026-11-01 10:30:00+00\n4\t0/1A000000\tno recovery target specified\n",
        };
        foreach (var (tli, text) in histories)
        {
            await WalTestData.PutAsync(repo, Layout, $"{tli:X8}.history", Encoding.UTF8.GetBytes(text));
        }
        var segments = new List<string>();
        void Range(uint tli, ulong from, ulong to)
        {
            for (var s = from; s <= to; s++)
            {
                segments.Add(WalFileName.SegmentNameOf(tli, s));
            }
        }
        Range(1, 0x0E, 0x32);
        Range(2, 0x31, 0x33);
        Range(3, 0x33, 0x35);
        Range(4, 0x18, 0x1A);
        Range(5, 0x1A, 0x1C);
        foreach (var name in segments)
        {
            await WalTestData.PutAsync(repo, Layout, name, [1]);
        }
        foreach (var b in new[]
                 {
                     WalTestData.Physical("b1", 1, Seg(0x10) + 0x28, Seg(0x10) + 0x100, T0, "42"),
                     WalTestData.Physical("b2", 1, Seg(0x20) + 0x28, Seg(0x20) + 0x100, T0.AddHours(1), "42"),
                     WalTestData.Physical("b3", 1, Seg(0x30) + 0x28, Seg(0x30) + 0x100, T0.AddHours(2), "42"),
                     WalTestData.Physical("b4", 3, Seg(0x34) + 0x28, Seg(0x34) + 0x100, T0.AddHours(3), "42"),
                 })
        {
            await WalTestData.PutManifestAsync(repo, b);
        }
        var lines = new List<string>();
        var pruner = new Pruner(repo, new BackupCatalog(repo, "c"), "c", lines.Add);

        await pruner.RunAsync(keepDays: null, keepCount: 1, dryRun: false, CancellationToken.None);

        var kept = (await new BackupCatalog(repo, "c").ListAsync(CancellationToken.None)).Select(b => b.Id).ToList();
        Assert.Equal(["b1"], kept);
        // Everything recovery from b1 to the end of timeline 5 reads is still there, and every history file.
        var needed = new List<string>();
        for (var s = 0x10UL; s <= 0x17; s++)
        {
            needed.Add(WalFileName.SegmentNameOf(1, s));
        }
        needed.AddRange(["000000040000000000000018", "000000040000000000000019", "00000005000000000000001A", "00000005000000000000001B", "00000005000000000000001C"]);
        needed.AddRange(histories.Keys.Select(t => $"{t:X8}.history"));
        foreach (var name in needed)
        {
            Assert.True(repo.Objects.ContainsKey(Layout.WalKey(name)), $"prune removed {name}, which recovery from b1 to timeline 5 needs: {string.Join(" / ", lines)}");
        }
        // What no kept backup can need is gone: timeline 1 before b1's start.
        Assert.False(repo.Objects.ContainsKey(Layout.WalKey("00000001000000000000000E")));
        Assert.False(repo.Objects.ContainsKey(Layout.WalKey("00000001000000000000000F")));
    }

    // Finding 12a: prune by age keeps the newest dump of every database, as it keeps the newest physical backup.
    [Fact]
    public async Task PruneByAgeKeepsTheNewestDumpOfEachDatabase()
    {
        var repo = new InMemoryRepository();
        BackupManifest Dump(string id, string db, int daysAgo) => new()
        {
            Id = id, Type = "logical", Cluster = "c", SystemId = "42", SourceNode = "pg1", Database = db, Format = "directory",
            StartTime = DateTimeOffset.UtcNow.AddDays(-daysAgo), StopTime = DateTimeOffset.UtcNow.AddDays(-daysAgo),
        };
        foreach (var m in new[] { Dump("app-old", "app", 90), Dump("app-new", "app", 60), Dump("other", "other", 70) })
        {
            await WalTestData.PutManifestAsync(repo, m);
        }
        await new Pruner(repo, new BackupCatalog(repo, "c"), "c", _ => { }).RunAsync(keepDays: 30, keepCount: null, dryRun: false, CancellationToken.None);
        var kept = (await new BackupCatalog(repo, "c").ListAsync(CancellationToken.None)).Select(b => b.Id).Order(StringComparer.Ordinal);
        Assert.Equal(["app-new", "other"], kept);
    }

    // Finding 4: a grant made by a role that received the grant option is replayed after that grant,
    // whatever the grantors' names (alice sorts before the owner zed).
    [Fact]
    public void GrantsAreReplayedAfterTheGrantOptionTheyDependOn()
    {
        var props = new DatabaseProperties("src", "zed", "UTF8", "C.UTF-8", "C.UTF-8", "c", null, -1, null, false,
            [
                new DatabaseGrant("alice", "bob", "CONNECT", false),
                new DatabaseGrant("bob", "carol", "CONNECT", false),
                new DatabaseGrant("alice", "bob", "CONNECT", true),
                new DatabaseGrant("zed", "alice", "CONNECT", true),
                new DatabaseGrant("zed", "alice", "CREATE", true),
                new DatabaseGrant("zed", "zed", "CONNECT", false),
            ],
            [], ["alice", "bob", "carol", "zed"], []);
        var statements = props.PropertyStatements("r1").ToList();
        int IndexOf(string text) => statements.FindIndex(s => s.Contains(text, StringComparison.Ordinal));
        var toAlice = IndexOf("GRANT CONNECT ON DATABASE \"r1\" TO \"alice\" WITH GRANT OPTION");
        var aliceToBob = IndexOf("SET ROLE \"alice\"; GRANT CONNECT ON DATABASE \"r1\" TO \"bob\" WITH GRANT OPTION");
        var bobToCarol = IndexOf("SET ROLE \"bob\"; GRANT CONNECT ON DATABASE \"r1\" TO \"carol\"");
        Assert.True(toAlice >= 0 && aliceToBob > toAlice && bobToCarol > aliceToBob, string.Join("\n", statements));
    }

    // Finding 5: an archived file that cannot be verified (its .meta is missing and its zstd frame has no checksum)
    // is never served as good, even when the damage decompresses.
    [Fact]
    public async Task AnArchivedFileWithoutChecksumsIsNotServed()
    {
        var repo = new InMemoryRepository();
        var content = WalTestData.Segment(System, Seg(3));
        new Random(7).NextBytes(content.AsSpan(4096, 2 << 20));
        using var plain = new ZstdSharp.Compressor(1);
        var stored = plain.Wrap(content).ToArray();
        stored[1 << 20] ^= 0x10;
        using (var check = new ZstdSharp.Decompressor())
        {
            Assert.NotEqual(content, check.Unwrap(stored).ToArray());
        }
        await repo.PutIfAbsentAsync(Layout.WalKey("000000010000000000000003"), new MemoryStream(stored), new Dictionary<string, string>(), CancellationToken.None);
        var dir = Directory.CreateTempSubdirectory("pgwarden-test-").FullName;
        try
        {
            var refused = await Assert.ThrowsAnyAsync<PgWardenException>(() => new WalArchiver(repo, Layout).FetchAsync("000000010000000000000003", Path.Combine(dir, "x"), CancellationToken.None));
            Assert.Contains("cannot be verified", refused.Message);
            Assert.False(File.Exists(Path.Combine(dir, "x")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Finding 5: a push that finds its file stored without metadata (killed between link() and the .meta) writes the
    // metadata only after proving the stored content equals the local file; other content is refused.
    [Fact]
    public async Task APushRepairsMissingMetadataOnlyForIdenticalContent()
    {
        var repo = new InMemoryRepository();
        var content = WalTestData.Segment(System, Seg(3), tail: 1);
        await WalTestData.PutAsync(repo, Layout, "000000010000000000000003", content, withMetadata: false);
        var dir = Directory.CreateTempSubdirectory("pgwarden-test-").FullName;
        try
        {
            var path = Path.Combine(dir, "000000010000000000000003");
            File.WriteAllBytes(path, WalTestData.Segment(System, Seg(3), tail: 2));
            await Assert.ThrowsAsync<PgWardenException>(() => new WalArchiver(repo, Layout).PushAsync(path, CancellationToken.None));
            Assert.Empty(repo.Objects[Layout.WalKey("000000010000000000000003")].Meta);

            File.WriteAllBytes(path, content);
            Assert.False(await new WalArchiver(repo, Layout).PushAsync(path, CancellationToken.None));
            var meta = repo.Objects[Layout.WalKey("000000010000000000000003")].Meta;
            Assert.Equal(ObjectChecksum.Sha256(content), meta[ObjectChecksum.Content]);
            Assert.Equal(ObjectChecksum.Sha256(repo.Objects[Layout.WalKey("000000010000000000000003")].Data), meta[ObjectChecksum.Stored]);
            Assert.True(await new WalArchiver(repo, Layout).FetchAsync("000000010000000000000003", Path.Combine(dir, "fetched"), CancellationToken.None));
            Assert.Equal(content, File.ReadAllBytes(Path.Combine(dir, "fetched")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Finding 6: wal-push refuses what cannot be the WAL file it is named after: a truncated segment, another
    // segment's bytes, another timeline's, and a history file that does not parse.
    [Fact]
    public async Task APushRefusesFilesThatAreNotTheWalTheyAreNamedAfter()
    {
        var repo = new InMemoryRepository();
        var archiver = new WalArchiver(repo, Layout);
        var dir = Directory.CreateTempSubdirectory("pgwarden-test-").FullName;
        async Task<string> Refused(string name, byte[] content)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllBytes(path, content);
            var e = await Assert.ThrowsAsync<PgWardenException>(() => archiver.PushAsync(path, CancellationToken.None));
            Assert.Equal(ExitCodes.UnsafeRefused, e.ExitCode);
            return e.Message;
        }
        try
        {
            Assert.Contains("8388608 bytes", await Refused("00000001000000000000000B", WalTestData.Segment(System, Seg(0x0B), length: 8 << 20)));
            Assert.Contains("0/B000000", await Refused("00000001000000000000000C", WalTestData.Segment(System, Seg(0x0B))));
            Assert.Contains("timeline 3", await Refused("00000002000000000000000C", WalTestData.Segment(System, Seg(0x0C), timeline: 3)));
            var random = new byte[100];
            new Random(1).NextBytes(random);
            Assert.Contains("00000005.history", await Refused("00000005.history", random));
            Assert.Contains("00000003.history", await Refused("00000003.history", Encoding.UTF8.GetBytes("1\t0/5000000\tx\n2\t0/4000000\ty\n")));
            Assert.Contains("00000002.history", await Refused("00000002.history", Encoding.UTF8.GetBytes("2\t0/5000000\tx\n")));
            Assert.Empty(repo.Objects);

            // What PostgreSQL really writes goes through: a segment whose first page still carries the parent timeline, a history file.
            var switched = Path.Combine(dir, "00000002000000000000000C");
            File.WriteAllBytes(switched, WalTestData.Segment(System, Seg(0x0C), timeline: 1));
            Assert.True(await archiver.PushAsync(switched, CancellationToken.None));
            var history = Path.Combine(dir, "00000002.history");
            File.WriteAllText(history, "1\t0/C000100\tno recovery target specified\n");
            Assert.True(await archiver.PushAsync(history, CancellationToken.None));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Finding 7: a superseded timeline's copies may differ only from the point where the later timeline left it.
    [Fact]
    public async Task ASupersededTimelinesCopyMayDifferOnlyAfterTheSwitchPoint()
    {
        var repo = new InMemoryRepository();
        var archiver = new WalArchiver(repo, Layout);
        var dir = Directory.CreateTempSubdirectory("pgwarden-test-").FullName;
        try
        {
            // Timeline 2 left timeline 1 in the middle of segment 3 (offset 0x800000).
            await WalTestData.PutAsync(repo, Layout, "00000002.history", Encoding.UTF8.GetBytes("1\t0/3800000\tno recovery target specified\n"));
            var two = WalTestData.Segment(System, Seg(2));
            var three = WalTestData.Segment(System, Seg(3));
            await WalTestData.PutAsync(repo, Layout, "000000010000000000000002", two);
            await WalTestData.PutAsync(repo, Layout, "000000010000000000000003", three);

            var path2 = Path.Combine(dir, "000000010000000000000002");
            var before = (byte[])two.Clone();
            before[0x5000] = 9;
            File.WriteAllBytes(path2, before);
            Assert.Contains("before", (await Assert.ThrowsAsync<PgWardenException>(() => archiver.PushAsync(path2, CancellationToken.None))).Message);

            var path3 = Path.Combine(dir, "000000010000000000000003");
            var early = (byte[])three.Clone();
            early[0x7F_FFFF] = 9;
            File.WriteAllBytes(path3, early);
            await Assert.ThrowsAsync<PgWardenException>(() => archiver.PushAsync(path3, CancellationToken.None));

            var late = (byte[])three.Clone();
            late[0x80_0000] = 9;
            File.WriteAllBytes(path3, late);
            Assert.False(await archiver.PushAsync(path3, CancellationToken.None));
            Assert.Single(repo.Objects.Keys, k => k.StartsWith("c/42/wal-diverged/000000010000000000000003.", StringComparison.Ordinal));
            Assert.DoesNotContain(repo.Objects.Keys, k => k.StartsWith("c/42/wal-diverged/000000010000000000000002.", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Finding 8: a backup killed while its first file was being written leaves only a hidden temp file; it is
    // listed as incomplete and prune removes it.
    [Fact]
    public async Task ABackupDirectoryWithOnlyTempFilesIsIncompleteAndPruned()
    {
        var root = Directory.CreateTempSubdirectory("pgwarden-test-").FullName;
        try
        {
            var repo = new FsRepository(root, null);
            var killed = Path.Combine(root, "c", "42", "backups", "20261101T100000Z-0a0b0c0d-physical");
            Directory.CreateDirectory(killed);
            File.WriteAllBytes(Path.Combine(killed, ".base.tar.zst.tmp-" + Guid.NewGuid().ToString("N")), new byte[4096]);
            var empty = Path.Combine(root, "c", "42", "backups", "20261101T100001Z-0a0b0c0e-logical");
            Directory.CreateDirectory(empty);
            var catalog = new BackupCatalog(repo, "c");

            var incomplete = await catalog.ListIncompleteAsync(CancellationToken.None);
            Assert.Equal(["20261101T100000Z-0a0b0c0d-physical", "20261101T100001Z-0a0b0c0e-logical"], incomplete.Select(b => b.Id));
            Assert.Equal(4096, incomplete[0].StoredSize);

            await new Pruner(repo, catalog, "c", _ => { }).RunAsync(30, null, dryRun: false, CancellationToken.None);
            Assert.False(Directory.Exists(killed));
            Assert.False(Directory.Exists(empty));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    // Finding 12c: a repository that cannot be written is one line naming the path and the cause, not an IOException.
    [Fact]
    public async Task ARepositoryThatCannotBeWrittenNamesThePathAndTheCause()
    {
        var root = Directory.CreateTempSubdirectory("pgwarden-test-").FullName;
        try
        {
            // A file where the repository needs a directory: the write fails (also for root, who ignores permissions).
            File.WriteAllText(Path.Combine(root, "c"), "in the way");
            var repo = new FsRepository(root, null);
            var e = await Assert.ThrowsAsync<PgWardenException>(() => repo.PutIfAbsentAsync(Layout.WalKey("000000010000000000000003"), new MemoryStream([1]), new Dictionary<string, string>(), CancellationToken.None));
            Assert.Equal(ExitCodes.OperationFailed, e.ExitCode);
            Assert.Contains(Path.Combine(root, "c"), e.Message);
            Assert.Contains(repo.Description, e.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
