using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>Point-in-time recovery, WAL archive idempotency and corruption detection on a real cluster.</summary>
public sealed class BackupPitrTests(BackupClusterFixture fixture) : IClassFixture<BackupClusterFixture>
{
    private TestCluster Cluster => fixture.Cluster;

    private async Task<List<string>> RestoreAndReadAsync(string target, params string[] args) =>
        (await ScratchRestore.RunAsync(Cluster, target, args)).Markers;

    [Fact]
    public async Task RestoreToATimeBetweenMarkersHasExactlyTheRowsBefore()
    {
        var rows = await RestoreAndReadAsync("time", "--target-time", fixture.AfterA.ToString("yyyy-MM-dd HH:mm:ss.ffffffzzz"));
        Assert.Equal(["a"], rows);
    }

    [Fact]
    public async Task RestoreToANamedPointHasTheRowsBeforeIt()
    {
        var rows = await RestoreAndReadAsync("name", "--target-name", "after_b", "--target-action", "pause");
        Assert.Equal(["a", "b"], rows);
    }

    [Fact]
    public async Task RestoreToAnLsnHasTheRowsBeforeIt()
    {
        var rows = await RestoreAndReadAsync("lsn", "--target-lsn", fixture.LsnAfterC, "--target-action", "pause");
        Assert.Equal(["a", "b", "c"], rows);
    }

    [Fact]
    public async Task RestoreToATransactionIdHasTheRowsUpToIt()
    {
        var rows = await RestoreAndReadAsync("xid", "--target-xid", fixture.XidOfB, "--target-action", "pause");
        Assert.Equal(["a", "b"], rows);
    }

    [Fact]
    public async Task RestoreImmediateStopsAtTheEndOfTheBackup()
    {
        // The base backup was taken before any marker row.
        var rows = await RestoreAndReadAsync("immediate", "--immediate", "--target-action", "pause");
        Assert.Empty(rows);
    }

    [Fact]
    public async Task RestoreToTheEndOfTheArchiveHasEveryRow()
    {
        var rows = await RestoreAndReadAsync("end");
        Assert.Equal(["a", "b", "c", "d"], rows);
    }

    [Fact]
    public async Task RestoreRefusesANonEmptyDirectoryAndATargetBeforeTheBackup()
    {
        var busy = Path.Combine(Cluster.Dir, "busy");
        Directory.CreateDirectory(busy);
        File.WriteAllText(Path.Combine(busy, "keep.txt"), "precious");
        var refused = await Cluster.RunAsync("restore", "--to", busy);
        Assert.Equal(7, refused.ExitCode);
        Assert.Contains("is not empty", refused.Stderr);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(busy, "keep.txt")));

        var early = await Cluster.RunAsync("restore", "--to", Path.Combine(Cluster.Dir, "early"), "--target-time", "2001-01-01 00:00:00+00");
        Assert.Equal(7, early.ExitCode);
        Assert.Contains("before the end of the base backup", early.Stderr);
        Assert.Contains("can recover from", early.Stderr);

        var future = await Cluster.RunAsync("restore", "--to", Path.Combine(Cluster.Dir, "future"), "--target-time", "2999-01-01 00:00:00+00");
        Assert.Equal(7, future.ExitCode);
        Assert.Contains("is in the future", future.Stderr);
    }

    [Fact]
    public async Task ATargetTimeAfterTheLastCommitSaysNoTransactionCommittedAfterIt()
    {
        // Nothing was committed after 'd', so recovery to "now" cannot tell it passed the target.
        var beyond = await Cluster.RunAsync("restore", "--to", Path.Combine(Cluster.Dir, "beyond"), "--timeout", "120",
            "--target-time", DateTimeOffset.UtcNow.AddSeconds(-1).ToString("yyyy-MM-dd HH:mm:ss.ffffffzzz"));
        Assert.True(beyond.ExitCode != 0, beyond.ToString());
        Assert.Contains("no transaction in the archived WAL committed after the target time", beyond.Stderr);
        Assert.Contains("pgwarden restore-point", beyond.Stderr);
        Assert.False(Directory.Exists(Path.Combine(Cluster.Dir, "beyond")) && Directory.EnumerateFileSystemEntries(Path.Combine(Cluster.Dir, "beyond")).Any(), "the failed restore left files behind");
    }

    [Fact]
    public async Task BackupListShowsThePhysicalBackup()
    {
        var list = await Cluster.RunAsync("backup", "list", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(fixture.BackupId, list.Stdout);
        Assert.Contains("\"type\": \"physical\"", list.Stdout);
    }

    private string WalDir => Directory.GetDirectories(Path.Combine(fixture.Repo, "it70")).Single() + "/wal";

    [Fact]
    public async Task WalPushIsIdempotentAndNeverOverwritesDifferentContent()
    {
        var archived = Directory.GetFiles(WalDir, "0000000*.zst").Order(StringComparer.Ordinal).First();
        var name = Path.GetFileName(archived)[..^4];
        var original = SHA256.HashData(File.ReadAllBytes(archived));
        var copy = Path.Combine(Cluster.Dir, name);
        var fetch = await Cluster.RunAsync("wal-fetch", "--data-dir", Cluster.DataDir(1), name, copy);
        Assert.True(fetch.ExitCode == 0, fetch.ToString());

        var again = await Cluster.RunAsync("wal-push", "--data-dir", Cluster.DataDir(1), copy);
        Assert.True(again.ExitCode == 0, again.ToString());

        var bytes = File.ReadAllBytes(copy);
        bytes[8192 + 100] ^= 0xFF;
        File.WriteAllBytes(copy, bytes);
        var different = await Cluster.RunAsync("wal-push", "--data-dir", Cluster.DataDir(1), copy);
        Assert.NotEqual(0, different.ExitCode);
        Assert.Contains("different content", different.Stderr);
        Assert.Equal(original, SHA256.HashData(File.ReadAllBytes(archived)));

        // WAL of another database system is refused.
        bytes = File.ReadAllBytes(copy);
        bytes[24] ^= 0x01;
        var other = Path.Combine(Cluster.Dir, "other", name);
        Directory.CreateDirectory(Path.GetDirectoryName(other)!);
        File.WriteAllBytes(other, bytes);
        var foreign = await Cluster.RunAsync("wal-push", "--data-dir", Cluster.DataDir(1), other);
        Assert.Equal(7, foreign.ExitCode);
        Assert.Contains("belongs to database system", foreign.Stderr);
    }

    [Fact]
    public async Task CorruptedWalAndBackupFilesAreRefused()
    {
        var archived = Directory.GetFiles(WalDir, "0000000*.zst").Order(StringComparer.Ordinal).Last();
        var name = Path.GetFileName(archived)[..^4];
        var baseFile = Directory.GetFiles(Path.Combine(Path.GetDirectoryName(WalDir)!, "backups"), "base.tar.zst", SearchOption.AllDirectories).First();
        Flip(archived, 200);
        Flip(baseFile, 1000);
        try
        {
            var fetch = await Cluster.RunAsync("wal-fetch", "--data-dir", Cluster.DataDir(1), name, Path.Combine(Cluster.Dir, "fetched"));
            Assert.Equal(10, fetch.ExitCode);
            Assert.Contains("corrupted", fetch.Stderr);
            Assert.False(File.Exists(Path.Combine(Cluster.Dir, "fetched")));

            var to = Path.Combine(Cluster.Dir, "restore-corrupt");
            var restore = await Cluster.RunAsync("restore", "--to", to);
            Assert.Equal(10, restore.ExitCode);
            Assert.Contains("corrupted", restore.Stderr);
            Assert.Empty(Directory.EnumerateFileSystemEntries(to));
        }
        finally
        {
            Flip(archived, 200);
            Flip(baseFile, 1000);
        }
    }

    [Theory]
    [InlineData("directory", "restored_dir")]
    [InlineData("plain-gzip", "restored_plain")]
    public async Task LogicalBackupRoundTripsTheBookReaderSchemaAndData(string format, string database)
    {
        await using (var app = Cluster.Superuser(1))
        {
            await app.OpenAsync();
            await BackupClusterFixture.Exec(app, AwkwardTablesSql);
        }
        // 1 MB slices: the two larger tables below are read in several slices beside pg_dump.
        var backup = await Cluster.RunAsync("backup", "logical", "--format", format, "--slice-mb", "1");
        Assert.True(backup.ExitCode == 0, backup.ToString());
        if (format == "directory")
        {
            Assert.Contains("2 large table(s) in ", backup.Stdout);
        }
        var id = backup.Stdout.Split(' ', '\n').First(w => w.EndsWith("-logical", StringComparison.Ordinal));
        var restore = await Cluster.RunAsync("restore-logical", id, "--db", database);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        const string shape = "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') || '/' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') || '/' || (SELECT string_agg(name, ',' ORDER BY name) FROM markers)";
        await using var original = Cluster.Superuser(1);
        await original.OpenAsync();
        await using var copy = Cluster.Superuser(1, database);
        await copy.OpenAsync();
        var expected = await BackupClusterFixture.Scalar<string>(original, shape);
        Assert.EndsWith("/a,b,c,d", expected);
        Assert.Equal(expected, await BackupClusterFixture.Scalar<string>(copy, shape));
        foreach (var content in AwkwardContentSql)
        {
            Assert.Equal(await BackupClusterFixture.Scalar<string>(original, content), await BackupClusterFixture.Scalar<string>(copy, content));
        }
        // The foreign key was created after the rows were loaded, and holds.
        await Assert.ThrowsAsync<PostgresException>(() => BackupClusterFixture.Exec(copy, "INSERT INTO awkward_ref VALUES (999999)"));

        var again = await Cluster.RunAsync("restore-logical", id, "--db", database);
        Assert.Equal(7, again.ExitCode);
        Assert.Contains("already exists", again.Stderr);
    }

    [Fact]
    public async Task ACorruptedTableSliceFailsTheRestoreAndLeavesNoDatabase()
    {
        await using (var app = Cluster.Superuser(1))
        {
            await app.OpenAsync();
            await BackupClusterFixture.Exec(app, AwkwardTablesSql);
        }
        var backup = await Cluster.RunAsync("backup", "logical", "--slice-mb", "1");
        Assert.True(backup.ExitCode == 0, backup.ToString());
        var id = backup.Stdout.Split(' ', '\n').First(w => w.EndsWith("-logical", StringComparison.Ordinal));
        var slice = Directory.GetFiles(Path.Combine(Path.GetDirectoryName(WalDir)!, "backups", id, "data"), "*.copy.zst").Order(StringComparer.Ordinal).Last();
        Flip(slice, 300);
        var restore = await Cluster.RunAsync("restore-logical", id, "--db", "restored_corrupt");
        Assert.Equal(10, restore.ExitCode);
        Assert.Contains("corrupted", restore.Stderr);
        Assert.Contains(Path.GetFileName(slice), restore.Stderr);
        await using var postgres = Cluster.Superuser(1, "postgres");
        await postgres.OpenAsync();
        Assert.Equal(0L, await BackupClusterFixture.Scalar<long>(postgres, "SELECT count(*) FROM pg_database WHERE datname = 'restored_corrupt'"));
    }

    /// <summary>
    /// Rows COPY text must escape (tabs, newlines, backslashes, a lone "\."), NULLs, non-ASCII text,
    /// bytea, a generated and a dropped column, a mixed-case name, and a small table with a foreign
    /// key to a sliced one.
    /// </summary>
    private const string AwkwardTablesSql = """
        CREATE TABLE IF NOT EXISTS awkward (id int PRIMARY KEY, t text, b bytea, n numeric, j jsonb, twice int GENERATED ALWAYS AS (id * 2) STORED, gone int);
        ALTER TABLE awkward DROP COLUMN IF EXISTS gone;
        INSERT INTO awkward (id, t, b, n, j)
            SELECT g, CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN E'tab\there\nnew line\\back' WHEN 2 THEN 'ünïcødé ✓ ' || g WHEN 3 THEN E'\\.' ELSE repeat(md5(g::text), 8) END,
                   decode(md5(g::text), 'hex'), g / 7.0, jsonb_build_object('k', g, 's', E'q"\t')
            FROM generate_series(1, 20000) g ON CONFLICT DO NOTHING;
        CREATE TABLE IF NOT EXISTS "UpperT" (id int, v text);
        INSERT INTO "UpperT" SELECT g, repeat('x', 200) FROM generate_series(1, 8000) g WHERE NOT EXISTS (SELECT 1 FROM "UpperT");
        CREATE TABLE IF NOT EXISTS awkward_ref (id int REFERENCES awkward (id));
        INSERT INTO awkward_ref SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM awkward_ref);
        """;

    private static readonly string[] AwkwardContentSql =
    [
        "SELECT count(*) || ':' || md5(string_agg(a::text, '|' ORDER BY id)) FROM awkward a",
        "SELECT count(*) || ':' || md5(string_agg(u::text, '|' ORDER BY id)) FROM \"UpperT\" u",
        "SELECT count(*)::text FROM awkward_ref",
    ];

    [Fact]
    public async Task PruneDryRunChangesNothingInTheRepository()
    {
        var before = Directory.GetFiles(fixture.Repo, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        var prune = await Cluster.RunAsync("backup", "prune", "--dry-run", "--keep-count", "1");
        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.Equal(before, Directory.GetFiles(fixture.Repo, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList());
    }

    private static void Flip(string file, int offset)
    {
        using var f = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        var b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0xFF));
    }
}
