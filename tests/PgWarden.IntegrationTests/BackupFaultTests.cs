using Xunit.Abstractions;
using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Issue 10's faults on a real cluster, each asserting the effect (repository listings, rows counted
/// by the test itself, directories left behind) rather than the tool's own words.
/// </summary>
public sealed class BackupFaultTests(BackupFaultFixture fixture, ITestOutputHelper output) : IClassFixture<BackupFaultFixture>
{
    private TestCluster Cluster => fixture.Cluster;

    private static async Task Exec(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private static void AssertOneLine(CliResult result, int exit, params string[] contains)
    {
        Assert.True(result.ExitCode == exit, $"expected exit {exit}: {result}");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one error line: {result}");
        Assert.DoesNotContain("   at ", result.Stderr);
        foreach (var c in contains)
        {
            Assert.Contains(c, lines[0]);
        }
    }

    // Fault 11: every argument is validated before any work starts (nothing written, nothing copied).
    [Fact]
    public async Task BadArgumentsAreRefusedBeforeAnyWork()
    {
        var before = fixture.Listing();
        var to = Path.Combine(Cluster.Dir, "never");
        var clock = Stopwatch.StartNew();
        AssertOneLine(await Cluster.RunAsync("restore", "--to", to, "--port", "99999"), 2, "--port", "65535");
        AssertOneLine(await Cluster.RunAsync("restore", "--to", to, "--target-action", "pause"), 2, "--target-action pause needs a target");
        AssertOneLine(await Cluster.RunAsync("restore", "--to", to, "--timeout", "0"), 2, "--timeout");
        AssertOneLine(await Cluster.RunAsync("restore", "--to", to, "--target-xid", "abc"), 2, "--target-xid");
        AssertOneLine(await Cluster.RunAsync("restore", "--to", to, "--tablespace-mapping", "relative=/x"), 2, "--tablespace-mapping");
        AssertOneLine(await Cluster.RunAsync("backup", "physical", "--archive-wait", "-5"), 2, "--archive-wait");
        AssertOneLine(await Cluster.RunAsync("backup", "logical", "--jobs", "0"), 2, "--jobs");
        AssertOneLine(await Cluster.RunAsync("backup", "logical", "--slice-mb", "-1"), 2, "--slice-mb");
        AssertOneLine(await Cluster.RunAsync("backup", "verify", "latest", "--timeout", "0"), 2, "--timeout");
        AssertOneLine(await Cluster.RunAsync("restore-point", ""), 2, "must not be empty");
        AssertOneLine(await Cluster.RunAsync("restore-point", new string('x', 64)), 2, "63 bytes");
        AssertOneLine(await Cluster.RunAsync("restore-logical", "latest", "--db", "x", "-j", "0"), 2, "--jobs");
        Assert.False(Directory.Exists(to), "a refused restore created its directory");
        fixture.AssertUntouchedSince(before);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"refusals took {clock.Elapsed}");
    }

    // Fault 8: latest, list and prune are per database.
    [Fact]
    public async Task LatestAndRetentionArePerDatabase()
    {
        await using (var conn = Cluster.Superuser(1, "postgres"))
        {
            await conn.OpenAsync();
            await Exec(conn, "DROP DATABASE IF EXISTS otherdb");
            await Exec(conn, "CREATE DATABASE otherdb");
        }
        var app = await Cluster.RunAsync("backup", "logical");
        Assert.True(app.ExitCode == 0, app.ToString());
        var appId = BackupFaultFixture.IdOf(app, "logical");
        var other = await Cluster.RunAsync("backup", "logical", "--db", "otherdb");
        Assert.True(other.ExitCode == 0, other.ToString());
        var otherId = BackupFaultFixture.IdOf(other, "logical");

        var restored = await Cluster.RunAsync("restore-logical", "latest", "--db", "latest_app");
        Assert.True(restored.ExitCode == 0, restored.ToString());
        await using (var conn = Cluster.Superuser(1, "latest_app"))
        {
            await conn.OpenAsync();
            // The app database has the BookReader schema; otherdb has no table at all.
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", conn);
            Assert.True((long)(await cmd.ExecuteScalarAsync())! > 0, "restore-logical latest restored another database's dump");
        }
        var prune = await Cluster.RunAsync("backup", "prune", "--keep-count", "1");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        var manifests = Directory.GetFiles(fixture.Repo, "manifest.json", SearchOption.AllDirectories).Select(f => Path.GetFileName(Path.GetDirectoryName(f)!)).ToList();
        Assert.Contains(appId, manifests);
        Assert.Contains(otherId, manifests);
    }

    // Fault 2: roles the backup needs are named in a refusal, or created with --create-roles.
    [Fact]
    public async Task MissingRolesAreNamedOrCreated()
    {
        await using (var conn = Cluster.Superuser(1, "postgres"))
        {
            await conn.OpenAsync();
            foreach (var sql in new[] { "DROP DATABASE IF EXISTS gonedb", "DROP DATABASE IF EXISTS gonedb2", "DROP ROLE IF EXISTS gone_owner", "DROP ROLE IF EXISTS gone_reader",
                                         "CREATE ROLE gone_owner NOLOGIN", "CREATE ROLE gone_reader NOLOGIN", "CREATE DATABASE gonedb OWNER gone_owner" })
            {
                await Exec(conn, sql);
            }
        }
        await using (var conn = Cluster.Superuser(1, "gonedb"))
        {
            await conn.OpenAsync();
            await Exec(conn, "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2); GRANT SELECT ON t TO gone_reader");
        }
        var backup = await Cluster.RunAsync("backup", "logical", "--db", "gonedb");
        Assert.True(backup.ExitCode == 0, backup.ToString());
        await using (var conn = Cluster.Superuser(1, "postgres"))
        {
            await conn.OpenAsync();
            foreach (var sql in new[] { "DROP DATABASE gonedb", "DROP ROLE gone_owner", "DROP ROLE gone_reader" })
            {
                await Exec(conn, sql);
            }
        }
        var refused = await Cluster.RunAsync("restore-logical", "latest", "--source-db", "gonedb", "--db", "gonedb2");
        AssertOneLine(refused, 7, "gone_owner", "gone_reader", "--create-roles");
        var created = await Cluster.RunAsync("restore-logical", "latest", "--source-db", "gonedb", "--db", "gonedb2", "--create-roles");
        Assert.True(created.ExitCode == 0, created.ToString());
        await using var db = Cluster.Superuser(1, "gonedb2");
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT pg_get_userbyid(datdba) || ' ' || has_table_privilege('gone_reader', 't', 'SELECT') || ' ' || (SELECT count(*) FROM t) FROM pg_database WHERE datname = current_database()", db);
        Assert.Equal("gone_owner true 2", (string)(await cmd.ExecuteScalarAsync())!);
    }

    // Fault 9 and "a real prune on fs followed by a restore", "choosing among several backups":
    // a killed backup is listed as incomplete and pruned; a dry run removes nothing; a real prune removes
    // exactly the WAL before the kept backup; the kept backup still restores every row.
    [Fact]
    public async Task IncompleteBackupsArePrunedAndPruneKeepsWhatTheKeptBackupNeeds()
    {
        await using var conn = Cluster.Superuser(1);
        await conn.OpenAsync();
        await Exec(conn, "CREATE TABLE IF NOT EXISTS prune_rows (name text PRIMARY KEY)");
        var first = await Cluster.RunAsync("backup", "physical");
        Assert.True(first.ExitCode == 0, first.ToString());
        var firstId = BackupFaultFixture.IdOf(first, "physical");
        await Exec(conn, "INSERT INTO prune_rows VALUES ('one')");
        await Task.Delay(1100);
        var between = await BackupClusterFixture.Scalar<DateTime>(conn, "SELECT clock_timestamp()");
        await Task.Delay(1100);
        await WalArchive.SwitchAndWaitAsync(conn);

        // A backup killed while it waits for its WAL (the archiver is frozen): files without a manifest.
        var archiver = await BackupClusterFixture.Scalar<int>(conn, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'archiver'");
        TestCluster.Signal(archiver, 19);
        string killedId;
        try
        {
            var psi = new ProcessStartInfo(PgWardenCli.Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "backup", "physical", "--dir", Cluster.Dir })
            {
                psi.ArgumentList.Add(a);
            }
            using var killed = Process.Start(psi)!;
            var line = await TestCluster.WaitForAsync(async () => await killed.StandardOutput.ReadLineAsync() is { } l && l.Contains("waiting for", StringComparison.Ordinal) ? l : null,
                TimeSpan.FromSeconds(60), "the backup to wait for its WAL");
            killed.Kill();
            await killed.WaitForExitAsync();
            var listing = CliJson.Backups((await Cluster.RunAsync("backup", "list", "--json")).Stdout).ToList();
            var incomplete = listing.Single(b => b.GetProperty("status").GetString() == "incomplete");
            killedId = incomplete.GetProperty("id").GetString()!;
        }
        finally
        {
            TestCluster.Signal(archiver, 18);
        }

        // Interrupted (SIGINT, as Ctrl-C) while waiting: the backup removes its own files.
        TestCluster.Signal(archiver, 19);
        try
        {
            var psi = new ProcessStartInfo(PgWardenCli.Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "backup", "physical", "--dir", Cluster.Dir })
            {
                psi.ArgumentList.Add(a);
            }
            var beforeInterrupt = fixture.BackupFiles();
            using var interrupted = Process.Start(psi)!;
            await TestCluster.WaitForAsync(async () => await interrupted.StandardOutput.ReadLineAsync() is { } l && l.Contains("waiting for", StringComparison.Ordinal) ? l : null,
                TimeSpan.FromSeconds(60), "the backup to wait for its WAL");
            var rest = interrupted.StandardOutput.ReadToEndAsync();
            TestCluster.Signal(interrupted.Id, 2);
            await interrupted.WaitForExitAsync();
            Assert.NotEqual(0, interrupted.ExitCode);
            Assert.Contains("removed the incomplete backup", await rest);
            Assert.Equal(beforeInterrupt, fixture.BackupFiles());
        }
        finally
        {
            TestCluster.Signal(archiver, 18);
        }

        var second = await Cluster.RunAsync("backup", "physical");
        Assert.True(second.ExitCode == 0, second.ToString());
        var secondId = BackupFaultFixture.IdOf(second, "physical");
        Assert.NotEqual(firstId, secondId);
        await Exec(conn, "INSERT INTO prune_rows VALUES ('two')");
        await WalArchive.SwitchAndWaitAsync(conn);

        // Choosing among several backups: a time between them recovers from the first.
        var older = await RestoredCopy.StartAsync(Cluster, "between", "--target-time", between.ToString("yyyy-MM-dd HH:mm:ss.ffffff+00"), "--target-action", "pause");
        await using (older)
        {
            Assert.Contains(firstId, older.Result.Stdout);
            await using var c = older.Connect("bookreader");
            await c.OpenAsync();
            Assert.Equal(1L, await BackupClusterFixture.Scalar<long>(c, "SELECT count(*) FROM prune_rows"));
        }

        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.SystemDir, "backups", secondId, "manifest.json"))).RootElement;
        var keptStart = manifest.GetProperty("start_wal").GetString()!;
        var walDir = Path.Combine(fixture.SystemDir, "wal");
        // Every archived WAL file but timeline history files whose segment comes before the kept backup's start.
        var expectedGone = Directory.GetFiles(walDir, "*.zst").Select(f => Path.GetFileName(f)[..^4])
            .Where(n => !n.EndsWith(".history", StringComparison.Ordinal) && string.CompareOrdinal(n[8..24], keptStart[8..24]) < 0).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expectedGone);

        var before = fixture.Listing();
        var dry = await Cluster.RunAsync("backup", "prune", "--keep-count", "1", "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        fixture.AssertUntouchedSince(before);
        Assert.True(dry.Stdout.Contains($"would remove {expectedGone.Count} archived WAL files", StringComparison.Ordinal), $"expected {expectedGone.Count} ({string.Join(", ", expectedGone)}): {dry}");

        var prune = await Cluster.RunAsync("backup", "prune", "--keep-count", "1");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        var after = fixture.Listing();
        Assert.DoesNotContain(after, f => f.Contains(killedId, StringComparison.Ordinal));
        Assert.DoesNotContain(after, f => f.Contains(firstId, StringComparison.Ordinal));
        Assert.Contains(after, f => f.Contains(secondId, StringComparison.Ordinal));
        foreach (var gone in expectedGone)
        {
            Assert.DoesNotContain(after, f => f.EndsWith("/" + gone + ".zst", StringComparison.Ordinal));
        }
        Assert.Contains(after, f => f.EndsWith("/" + keptStart + ".zst", StringComparison.Ordinal));

        await using var copy = await RestoredCopy.StartAsync(Cluster, "after-prune", "--target-action", "promote");
        await using var restoredConn = copy.Connect("bookreader");
        await restoredConn.OpenAsync();
        Assert.Equal(2L, await BackupClusterFixture.Scalar<long>(restoredConn, "SELECT count(*) FROM prune_rows"));
    }

    // Fault 9: a failed restore leaves an empty directory that a retry can use; a killed one leaves a marker that --force clears.
    [Fact]
    public async Task FailedAndInterruptedRestoresLeaveNothingInTheWay()
    {
        var backup = await Cluster.RunAsync("backup", "physical");
        Assert.True(backup.ExitCode == 0, backup.ToString());
        var to = Path.Combine(Cluster.Dir, "restore-retry");
        var failed = await Cluster.RunAsync("restore", "--to", to, "--target-name", "no_such_point", "--timeout", "120");
        Assert.NotEqual(0, failed.ExitCode);
        Assert.True(!Directory.Exists(to) || !Directory.EnumerateFileSystemEntries(to).Any(), $"the failed restore left files in {to}: {failed}");

        // Killed in the middle: a marker stays; without --force the retry is refused naming it, with --force it runs.
        var psi = new ProcessStartInfo(PgWardenCli.Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "restore", "--to", to, "--dir", Cluster.Dir, "--target-name", "no_such_point", "--timeout", "120" })
        {
            psi.ArgumentList.Add(a);
        }
        using (var killed = Process.Start(psi)!)
        {
            // Killed as soon as the marker is there: a recovery that fails fast would otherwise clean up first.
            var marker = Path.Combine(to, ".pgwarden-restore-incomplete");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!File.Exists(marker) && !killed.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5);
            }
            killed.Kill();
            await killed.WaitForExitAsync();
        }
        Assert.True(File.Exists(Path.Combine(to, ".pgwarden-restore-incomplete")));
        AssertOneLine(await Cluster.RunAsync("restore", "--to", to), 7, "--force");
        await using var copy = await RestoredCopy.StartAsync(Cluster, "retry", "--force");
        Assert.False(File.Exists(Path.Combine(copy.Dir, ".pgwarden-restore-incomplete")));
    }

    // README claim: a logical backup is consistent in one snapshot while writes go on — a sliced table and
    // a table pg_dump reads, written together in each transaction, come back with the same rows.
    [Fact]
    public async Task WritesDuringALogicalDumpLeaveAConsistentBackup()
    {
        await using (var conn = Cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await Exec(conn, "DROP TABLE IF EXISTS pair_a, pair_b; CREATE TABLE pair_a (id int PRIMARY KEY, pad text); CREATE TABLE pair_b (id int PRIMARY KEY);" +
                             "INSERT INTO pair_a SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g; INSERT INTO pair_b SELECT generate_series(1, 20000)");
        }
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            await using var conn = Cluster.Superuser(1);
            await conn.OpenAsync();
            var id = 20000;
            while (!stop.IsCancellationRequested)
            {
                id++;
                await Exec(conn, $"BEGIN; INSERT INTO pair_a VALUES ({id}, repeat(md5('{id}'), 4)); INSERT INTO pair_b VALUES ({id}); COMMIT");
            }
            return id;
        });
        var backup = await Cluster.RunAsync("backup", "logical", "--slice-mb", "1");
        stop.Cancel();
        var written = await writer;
        Assert.True(backup.ExitCode == 0, backup.ToString());
        Assert.Contains("large table(s) in", backup.Stdout);
        var restore = await Cluster.RunAsync("restore-logical", BackupFaultFixture.IdOf(backup, "logical"), "--db", "pairs_restored");
        Assert.True(restore.ExitCode == 0, restore.ToString());
        await using var copy = Cluster.Superuser(1, "pairs_restored");
        await copy.OpenAsync();
        var a = await BackupClusterFixture.Scalar<string>(copy, "SELECT count(*) || ':' || max(id) FROM pair_a");
        var b = await BackupClusterFixture.Scalar<string>(copy, "SELECT count(*) || ':' || max(id) FROM pair_b");
        Assert.Equal(a, b);
        Assert.Equal(0L, await BackupClusterFixture.Scalar<long>(copy, "SELECT count(*) FROM pair_a FULL JOIN pair_b USING (id) WHERE pair_a.id IS NULL OR pair_b.id IS NULL"));
        Assert.True(written > 20000, "the writer committed nothing during the dump");
    }

    // README claim: a DDL statement queued behind the dump makes the slices give up after 10 s (their
    // lock_timeout) instead of waiting for ever; the failed backup removes what it wrote; the DDL then runs.
    [Fact]
    public async Task ADdlQueuedBehindTheDumpMakesItGiveUp()
    {
        await using var conn = Cluster.Superuser(1);
        await conn.OpenAsync();
        await Exec(conn, "DROP TABLE IF EXISTS ddl_big; CREATE TABLE ddl_big AS SELECT g AS id, repeat(md5(g::text), 6) AS pad FROM generate_series(1, 400000) g");
        var before = fixture.BackupFiles();
        var psi = new ProcessStartInfo(PgWardenCli.Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "backup", "logical", "--slice-mb", "1", "--jobs", "1", "--dir", Cluster.Dir })
        {
            psi.ArgumentList.Add(a);
        }
        var clock = Stopwatch.StartNew();
        using var backup = Process.Start(psi)!;
        var stdout = backup.StandardOutput.ReadToEndAsync();
        var stderr = backup.StandardError.ReadToEndAsync();
        // As soon as a slice is being read, an ALTER TABLE queues behind the dump's ACCESS SHARE lock.
        try
        {
            await TestCluster.WaitForAsync(async () => backup.HasExited ? "exited"
                : await BackupClusterFixture.Scalar<long>(conn,
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%ddl_big%' AND pid <> pg_backend_pid()") > 0 ? "copying" : null,
                TimeSpan.FromSeconds(60), "a slice of ddl_big to be read");
        }
        catch (TimeoutException e)
        {
            // CI once timed out here: say what the server was doing and what the backup printed.
            var activity = await BackupClusterFixture.Scalar<string>(conn,
                "SELECT COALESCE(string_agg(format('%s %s %s/%s: %s', pid, state, wait_event_type, wait_event, left(query, 120)), E'\\n'), 'none') FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'");
            backup.Kill(entireProcessTree: true);
            await backup.WaitForExitAsync();
            throw new TimeoutException($"{e.Message}\nactivity:\n{activity}\nbackup stdout: {await stdout}\nbackup stderr: {await stderr}", e);
        }
        Assert.False(backup.HasExited, $"the backup ended before reading ddl_big (exit {(backup.HasExited ? backup.ExitCode : 0)}): {(backup.HasExited ? await stdout + await stderr : "")}");
        await using var ddlConn = Cluster.Superuser(1);
        await ddlConn.OpenAsync();
        var ddl = Exec(ddlConn, "ALTER TABLE ddl_big ADD COLUMN later int");
        await backup.WaitForExitAsync();
        Assert.True(backup.ExitCode == 10, $"exit {backup.ExitCode}: {await stdout} {await stderr}");
        Assert.Contains("waiting for an exclusive lock", await stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"the backup gave up only after {clock.Elapsed}");
        await ddl.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(before, fixture.BackupFiles());
    }

    // Fault 12: a target time after the last commit says so, and what to do.
    [Fact]
    public async Task ATargetTimeAfterTheLastCommitIsExplained()
    {
        await using (var conn = Cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await Exec(conn, "CREATE TABLE IF NOT EXISTS beyond_rows (x int); INSERT INTO beyond_rows VALUES (1)");
            await WalArchive.SwitchAndWaitAsync(conn);
        }
        var backup = await Cluster.RunAsync("backup", "physical");
        Assert.True(backup.ExitCode == 0, backup.ToString());
        // A background commit after the target (autovacuum's ANALYZE writes pg_statistic) rightly lets
        // recovery stop there: that attempt is repeated with a new target, at most three times.
        CliResult beyond = null!;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var to = Path.Combine(Cluster.Dir, $"restore-beyond-{attempt}");
            beyond = await Cluster.RunAsync("restore", "--to", to, "--timeout", "120", "--target-time", DateTimeOffset.UtcNow.AddSeconds(-1).ToString("yyyy-MM-dd HH:mm:ss.ffffffzzz"));
            if (beyond.ExitCode == 0 && beyond.Stdout.Contains("recovery stopping before commit", StringComparison.Ordinal))
            {
                output.WriteLine($"attempt {attempt}: a later commit in the archive: {beyond.Stdout}");
                await Task.Delay(1000);
                continue;
            }
            break;
        }
        AssertOneLine(beyond, 10, "no transaction in the archived WAL committed after the target time", "pgwarden restore-point");
        Assert.DoesNotContain("recoverable range ends", beyond.Stderr);
    }

    // Fault 10: a repository the postgres user cannot write is named by `config check`; `check archive` proves a working one.
    [Fact]
    public async Task TheRepositoryIsCheckedAsThePostgresUser()
    {
        var ok = await Cluster.RunAsync("check", "archive");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains("read back", ok.Stdout);
        var wal = Path.Combine(fixture.SystemDir, "wal");
        var mode = File.GetUnixFileMode(wal);
        File.SetUnixFileMode(wal, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            AssertOneLine(await Cluster.RunAsync("config", "check"), 3, wal, "chown");
            var failing = await Cluster.RunAsync("check", "archive");
            Assert.Equal(2, failing.ExitCode);
        }
        finally
        {
            File.SetUnixFileMode(wal, mode);
        }
    }
}
