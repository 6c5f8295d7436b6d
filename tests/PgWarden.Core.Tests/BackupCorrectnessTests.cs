using System.Text;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Logical;
using PgWarden.Backup.Physical;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Verify;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Monitoring.Checks;

namespace PgWarden.Core.Tests;

/// <summary>Issue 10's faults at the level of pure functions and a fake repository: each test names the fault it pins down.</summary>
public sealed class BackupCorrectnessTests
{
    // Fault 1: the settings pg_dump forces (setup_connection) — every one of them, through PGOPTIONS.
    [Fact]
    public void SlicesRunWithPgDumpsSessionSettings()
    {
        var names = DumpSessionSettings.Dump.Select(s => s.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var required in new[] { "DateStyle", "IntervalStyle", "extra_float_digits", "search_path", "row_security", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "synchronize_seqscans" })
        {
            Assert.Contains(required, names);
        }
        var restore = DumpSessionSettings.Restore.Select(s => s.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var required in new[] { "standard_conforming_strings", "check_function_bodies", "xmloption", "client_min_messages", "row_security", "DateStyle", "default_transaction_read_only" })
        {
            Assert.Contains(required, restore);
        }
        Assert.Equal(@"-c search_path= -c DateStyle=ISO -c x=a\ b\\c", DumpSessionSettings.PgOptions([("search_path", ""), ("DateStyle", "ISO"), ("x", @"a b\c")]));
        Assert.Equal("ISO", DumpSessionSettings.Dump.Single(s => s.Name == "DateStyle").Value);
        Assert.Equal("3", DumpSessionSettings.Dump.Single(s => s.Name == "extra_float_digits").Value);
    }

    // Fault 1: the restore test compares content: same rows in another order match, a swapped day/month does not.
    [Fact]
    public void CopyTextDigestsIgnoreOrderButNotContent()
    {
        static RowMultiset Rows(string text) => CopyText.Rows(new MemoryStream(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(Rows("1\t2024-03-05\n2\t0.30000000000000004\n"), Rows("2\t0.30000000000000004\n1\t2024-03-05\n"));
        Assert.NotEqual(Rows("1\t2024-03-05\n"), Rows("1\t2024-05-03\n"));
        Assert.NotEqual(Rows("2\t0.30000000000000004\n"), Rows("2\t0.3\n"));
        Assert.Equal(2, Rows("a\nb\n\\.\n\n\n").Rows);

        var script = "SET x = 1;\nCOPY public.t (id, d) FROM stdin;\n1\t2024-03-05\n\\.\n\nCOPY \"My \"\"Sch\"\"\".\"T.x\" (a) FROM stdin;\n\\\\.\n\\.\n";
        var blocks = CopyText.Blocks(new MemoryStream(Encoding.UTF8.GetBytes(script)));
        Assert.Equal(1, blocks[("public", "t")].Rows);
        Assert.Equal(1, blocks[("My \"Sch\"", "T.x")].Rows);
        Assert.Equal(("a b", "c"), CopyText.ParseName("\"a b\".c (x)"));
    }

    // Fault 2: ALTER DATABASE … SET as pg_dump writes it, list-quoted variables split into literals.
    [Fact]
    public void DatabaseSettingsAreWrittenAsPgDumpWritesThem()
    {
        Assert.Equal("ALTER DATABASE \"new\" SET \"DateStyle\" TO 'SQL, DMY'", AlterConfigCommand.For("new", null, "DateStyle=SQL, DMY"));
        Assert.Equal("ALTER DATABASE \"new\" SET \"search_path\" TO 'a, b', 'my schema', '$user'", AlterConfigCommand.For("new", null, "search_path=\"a, b\", \"my schema\", \"$user\""));
        Assert.Equal("ALTER ROLE \"app\" IN DATABASE \"new\" SET \"work_mem\" TO '64MB'", AlterConfigCommand.For("new", "app", "work_mem=64MB"));
        Assert.Equal(["x\"y", "z"], AlterConfigCommand.SplitGucList("\"x\"\"y\" , z"));
        Assert.Throws<FormatException>(() => AlterConfigCommand.For("d", null, "nonsense"));
    }

    [Fact]
    public void DatabasePropertiesBecomeCreateCommentSettingsAndGrants()
    {
        var props = new DatabaseProperties("src", "app", "UTF8", "C.UTF-8", "C.UTF-8", "c", null, 50, "it's the app", false,
            [new DatabaseGrant("app", "app", "CREATE", false), new DatabaseGrant("app", "", "CONNECT", false), new DatabaseGrant("app", "reader", "CONNECT", true), new DatabaseGrant("reader", "other", "CONNECT", false)],
            [new DatabaseSetting(null, "DateStyle=SQL, DMY")], ["app", "other", "reader"], []);
        Assert.Equal("CREATE DATABASE \"new\" WITH TEMPLATE template0 OWNER \"app\" ENCODING 'UTF8' LOCALE_PROVIDER libc LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' CONNECTION LIMIT 50", props.CreateStatement("new"));
        var statements = props.PropertyStatements("new");
        Assert.Equal("COMMENT ON DATABASE \"new\" IS 'it''s the app'", props.CommentStatement("new"));
        Assert.Equal("COMMENT ON DATABASE \"new\" IS NULL", (props with { Comment = null }).CommentStatement("new"));
        Assert.Contains("REVOKE ALL ON DATABASE \"new\" FROM PUBLIC", statements);
        Assert.Contains("GRANT CONNECT ON DATABASE \"new\" TO PUBLIC", statements);
        Assert.Contains("GRANT CONNECT ON DATABASE \"new\" TO \"reader\" WITH GRANT OPTION", statements);
        Assert.Contains("SET ROLE \"reader\"; GRANT CONNECT ON DATABASE \"new\" TO \"other\"; RESET ROLE", statements);
        Assert.DoesNotContain((props with { DefaultAcl = true, Acl = [] }).PropertyStatements("new"), s => s.Contains("REVOKE", StringComparison.Ordinal));
    }

    // Fault 8: retention per database; latest per database.
    [Fact]
    public void RetentionKeepsTheNewestDumpsOfEachDatabase()
    {
        var now = DateTimeOffset.Parse("2025-10-30T12:00:00Z");
        BackupManifest Logical(string id, string db, int hoursAgo) => new()
        {
            Id = id, Type = "logical", Cluster = "c", SystemId = "1", SourceNode = "pg1", StartTime = now.AddHours(-hoursAgo), StopTime = now.AddHours(-hoursAgo), Database = db,
        };
        var plan = RetentionPlanner.Plan([Logical("app-old", "bookreader", 30), Logical("app-new", "bookreader", 20), Logical("other", "scratch", 1)], [], ArchivedTimelines.None, now, null, 1);
        Assert.Equal(["app-new", "other"], plan.KeptBackups.Select(b => b.Id).Order(StringComparer.Ordinal));
        Assert.Equal(["app-old"], plan.ExpiredBackups.Select(b => b.Id));
    }

    [Fact]
    public async Task LatestLogicalIsTheNewestOfTheDatabaseAsked()
    {
        var repo = new InMemoryRepository();
        foreach (var (id, db, minute) in new[] { ("a1", "bookreader", 1), ("b1", "other", 2) })
        {
            var m = new BackupManifest { Id = id, Type = "logical", Cluster = "c", SystemId = "1", SourceNode = "pg1", StartTime = DateTimeOffset.UnixEpoch.AddMinutes(minute), StopTime = DateTimeOffset.UnixEpoch.AddMinutes(minute), Database = db };
            await BackupCatalog.PutTextAsync(repo, new RepositoryLayout("c", "1").ManifestKey(id), m.ToJson(), CancellationToken.None);
        }
        var catalog = new BackupCatalog(repo, "c");
        Assert.Equal("a1", (await catalog.FindLogicalAsync("latest", "bookreader", CancellationToken.None)).Id);
        Assert.Equal("b1", (await catalog.FindLogicalAsync("latest", "other", CancellationToken.None)).Id);
        var none = await Assert.ThrowsAsync<PgWardenException>(() => catalog.FindLogicalAsync("latest", "missing", CancellationToken.None));
        Assert.Contains("no logical backup of database missing", none.Message);
    }

    // Fault 9: ids never collide; incomplete backups are listed; a lock serializes backups of one kind.
    [Fact]
    public void BackupIdsOfTheSameSecondDiffer()
    {
        var t = DateTimeOffset.Parse("2025-10-30T14:30:00Z");
        var ids = Enumerable.Range(0, 50).Select(_ => BackupId.New(t, "physical")).ToHashSet();
        Assert.Equal(50, ids.Count);
        Assert.All(ids, id => Assert.Matches("^20251030T143000Z-[0-9a-f]{8}-physical$", id));
    }

    [Fact]
    public async Task IncompleteBackupsAreListedAndALockRefusesASecondBackup()
    {
        var repo = new InMemoryRepository();
        var layout = new RepositoryLayout("c", "1");
        await repo.PutIfAbsentAsync(layout.BackupFileKey("20250101T000000Z-00000000-physical", "base.tar.zst"), new MemoryStream([1, 2, 3]), new Dictionary<string, string>(), CancellationToken.None);
        var lines = new List<string>();
        await using (var held = await RepositoryLock.AcquireAsync(repo, layout, "physical", "20250102T000000Z-11111111-physical", lines.Add, CancellationToken.None))
        {
            var refused = await Assert.ThrowsAsync<PgWardenException>(() => RepositoryLock.AcquireAsync(repo, layout, "physical", "x", lines.Add, CancellationToken.None));
            Assert.Equal(ExitCodes.AlreadyRunning, refused.ExitCode);
            Assert.Contains("20250102T000000Z-11111111-physical", refused.Message);
            await repo.PutIfAbsentAsync(layout.BackupFileKey(held.Owner.Id, "base.tar.zst"), new MemoryStream([1]), new Dictionary<string, string>(), CancellationToken.None);
            var incomplete = await new BackupCatalog(repo, "c").ListIncompleteAsync(CancellationToken.None);
            Assert.Equal(2, incomplete.Count);
            Assert.False(incomplete[0].Running);
            Assert.True(incomplete[1].Running);

            var pruned = await new Pruner(repo, new BackupCatalog(repo, "c"), "c", lines.Add).RunAsync(30, null, dryRun: false, CancellationToken.None);
            Assert.Equal([layout.BackupPrefix("20250101T000000Z-00000000-physical")], pruned);
            Assert.True(await repo.ExistsAsync(layout.BackupFileKey(held.Owner.Id, "base.tar.zst"), CancellationToken.None));
        }
        Assert.Empty(await repo.ListAsync(layout.Root + "/locks/", CancellationToken.None));
        // A lock whose process is gone (this host, dead PID) is taken over.
        var stale = new RepositoryLock.Holder("old", Environment.MachineName, int.MaxValue - 7, DateTimeOffset.UtcNow);
        await repo.PutIfAbsentAsync(RepositoryLock.KeyOf(layout, "physical"), new MemoryStream(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(stale, BackupManifest.Json))), new Dictionary<string, string>(), CancellationToken.None);
        await using var taken = await RepositoryLock.AcquireAsync(repo, layout, "physical", "new", lines.Add, CancellationToken.None);
        Assert.Contains(lines, l => l.Contains("stale lock", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APruneDryRunDeletesNothing()
    {
        var repo = new InMemoryRepository();
        var layout = new RepositoryLayout("c", "1");
        await repo.PutIfAbsentAsync(layout.BackupFileKey("20250101T000000Z-00000000-logical", "x"), new MemoryStream([1]), new Dictionary<string, string>(), CancellationToken.None);
        var before = repo.Objects.Keys.ToList();
        var would = await new Pruner(repo, new BackupCatalog(repo, "c"), "c", _ => { }).RunAsync(30, null, dryRun: true, CancellationToken.None);
        Assert.Single(would);
        Assert.Equal(before, repo.Objects.Keys.ToList());
    }

    // Fault 7: a backup that stops exactly at a segment boundary needs that next segment too.
    [Fact]
    public void TheSegmentHoldingTheStopLsnIsNeeded()
    {
        Assert.Equal(["000000010000000000000003", "000000010000000000000004", "000000010000000000000005"], ArchiveWait.Segments(1, 0x3000028, 0x5000000));
        Assert.Equal(["000000010000000000000003"], ArchiveWait.Segments(1, 0x3000028, 0x3000100));
    }

    // Fault 6: backups and "the end of the archive" follow the timeline history.
    [Fact]
    public void OnlyBackupsOnTheNewestTimelinesHistoryAreChosen()
    {
        var t0 = DateTimeOffset.Parse("2025-10-30T10:00:00Z");
        BackupManifest Physical(string id, uint tli, string stop, int minutes) => new()
        {
            Id = id, Type = "physical", Cluster = "c", SystemId = "1", SourceNode = "pg1", StartTime = t0.AddMinutes(minutes), StopTime = t0.AddMinutes(minutes), Timeline = tli, StopLsn = stop,
        };
        // TL1 → TL2 at 0/5000000; TL2 → TL3 (a rebuild) at 0/6000000; b3 is on TL2 after that point: an abandoned branch.
        var timelines = new ArchivedTimelines(new Dictionary<uint, TimelineHistory>
        {
            [2] = TimelineHistory.Parse(2, "1\t0/5000000\tno recovery target specified\n"),
            [3] = TimelineHistory.Parse(3, "1\t0/5000000\tno recovery target specified\n2\t0/6000000\tat restore point\n"),
        }, 3);
        List<BackupManifest> all = [Physical("b1", 1, "0/3000000", 0), Physical("b2", 2, "0/5800000", 10), Physical("b3", 2, "0/7000000", 20)];
        var end = BackupChooser.Choose(all, timelines, new RecoveryTarget(null, null, null, null, false, "promote"), null);
        Assert.Equal("b2", end.Backup.Id);
        Assert.Equal(3u, end.Timeline);
        var refused = Assert.Throws<PgWardenException>(() => BackupChooser.Choose(all, timelines, new RecoveryTarget(null, null, null, null, false, "promote"), "b3"));
        Assert.Contains("abandoned branch", refused.Message);
        Assert.Equal([4u, 5u], new ArchivedTimelines(timelines.Histories, 5).WithoutHistory(3));
        Assert.Equal("recovery_target_timeline", (new RecoveryTarget(null, null, null, null, false, "promote") { Timeline = 3 }).Settings().First().Name);
    }

    // Fault 5: a differing segment of a superseded timeline does not block the archiver; of the current one it does.
    [Fact]
    public async Task ASupersededTimelinesDivergentSegmentIsKeptAsideNotRefused()
    {
        var repo = new InMemoryRepository();
        var layout = new RepositoryLayout("c", "42");
        var archiver = new WalArchiver(repo, layout);
        var dir = Directory.CreateTempSubdirectory("pgwarden-test-").FullName;
        try
        {
            var segment = Path.Combine(dir, "000000010000000000000003");
            File.WriteAllBytes(segment, WalTestData.Segment(42, 0x3000000, tail: 1));
            Assert.True(await archiver.PushAsync(segment, CancellationToken.None));
            File.WriteAllBytes(segment, WalTestData.Segment(42, 0x3000000, tail: 2));
            var conflict = await Assert.ThrowsAsync<PgWardenException>(() => archiver.PushAsync(segment, CancellationToken.None));
            Assert.Contains("different content", conflict.Message);

            var history = Path.Combine(dir, "00000002.history");
            File.WriteAllText(history, "1\t0/3800000\tno recovery target specified\n");
            Assert.True(await archiver.PushAsync(history, CancellationToken.None));
            Assert.False(await archiver.PushAsync(segment, CancellationToken.None));
            Assert.Single(repo.Objects.Keys, k => k.StartsWith("c/42/wal-diverged/000000010000000000000003.", StringComparison.Ordinal));
            var fetched = Path.Combine(dir, "fetched");
            Assert.True(await archiver.FetchAsync("000000010000000000000003", fetched, CancellationToken.None));
            Assert.Equal(WalTestData.Segment(42, 0x3000000, tail: 1), File.ReadAllBytes(fetched));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Fault 5: an archiver failing on a replica fails the daily check.
    [Fact]
    public void AReplicasFailingArchiverFailsTheDailyCheck()
    {
        NodeStatus Node(string name, NodeRole role, string? failure) =>
            new(name, role, "running", true, 1, null, null, null, null, null, null, null, [], []) { ArchiveFailure = failure };
        var nodes = new Dictionary<string, NodeStatus?> { ["pg1"] = Node("pg1", NodeRole.Primary, null), ["pg2"] = Node("pg2", NodeRole.Replica, "archive_command fails for 000000010000000000000009 since …") };
        var result = ArchivingChecks.WalArchiving("always", false, 0, nodes);
        Assert.Equal(CheckStatus.Fail, result.Status);
        Assert.Contains("pg2: archive_command fails for 000000010000000000000009", result.Reason);
        Assert.Equal(CheckStatus.Ok, ArchivingChecks.WalArchiving("always", false, 0, new Dictionary<string, NodeStatus?> { ["pg1"] = Node("pg1", NodeRole.Primary, null) }).Status);
    }

    // Fault 4: tablespace destinations.
    [Fact]
    public void TablespacesGoInsideTheCopyUnlessMapped()
    {
        var backup = new BackupManifest
        {
            Id = "b", Type = "physical", Cluster = "c", SystemId = "1", SourceNode = "pg1", StartTime = DateTimeOffset.UnixEpoch, StopTime = DateTimeOffset.UnixEpoch,
            Tablespaces = [new BackupTablespace(16390, "ts1", "/srv/ts1"), new BackupTablespace(16391, "ts2", "/srv/ts2")],
        };
        var plan = TablespacePlacement.Plan(backup, new RestoreOptions(new Dictionary<string, string> { ["/srv/ts2"] = "/new/ts2" }, false));
        Assert.Null(plan[16390]);
        Assert.Equal("/new/ts2", plan[16391]);
        Assert.Equal("/srv/ts1", TablespacePlacement.Plan(backup, new RestoreOptions(new Dictionary<string, string>(), false, InPlaceTablespaces: false))[16390]);
        var bad = Assert.Throws<PgWardenException>(() => TablespacePlacement.Plan(backup, new RestoreOptions(new Dictionary<string, string> { ["/nope"] = "/x" }, false)));
        Assert.Contains("/srv/ts1", bad.Message);
    }

    // Fault 12: a time after the last commit is explained as such.
    [Fact]
    public void ATargetTimeAfterTheLastCommitSaysSo()
    {
        var message = Restorer.BeyondArchiveMessage(new RecoveryTarget(DateTimeOffset.Parse("2025-10-30T14:30:00Z"), null, null, null, false, "promote"), "2025-10-30 14:00:00.1+00");
        Assert.Contains("no transaction in the archived WAL committed after the target time", message);
        Assert.Contains("pgwarden restore-point", message);
        Assert.DoesNotContain("recoverable range ends", message);
    }
}
