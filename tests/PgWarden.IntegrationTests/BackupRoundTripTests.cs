using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Round-trip property tests: the generated database (<see cref="DatabaseGenerator"/>) comes back
/// exactly — the content hash of every table and the catalog inventory — from a sliced logical backup,
/// an unsliced one, the runbook's plain-gzip dump (tables only: it has --no-owner --no-acl), a logical
/// restore test, and a physical backup recovered to a restore point.
/// </summary>
public sealed class BackupRoundTripTests(BackupRoundTripFixture fixture) : IClassFixture<BackupRoundTripFixture>
{
    private TestCluster Cluster => fixture.Cluster;

    private async Task<string> LogicalAsync(params string[] args)
    {
        var backup = await Cluster.RunAsync(["backup", "logical", "--db", BackupRoundTripFixture.Database, .. args]);
        Assert.True(backup.ExitCode == 0, backup.ToString());
        return backup.Stdout.Split(' ', '\n').First(w => w.EndsWith("-logical", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sliced", "1")]
    [InlineData("whole", "0")]
    public async Task ALogicalBackupRestoresExactlyWhatWasCommitted(string name, string sliceMb)
    {
        var id = await LogicalAsync("--slice-mb", sliceMb);
        if (sliceMb != "0")
        {
            // public.measurements is read in slices, so the slices' session settings are exercised.
            Assert.Contains(Directory.GetFiles(Path.Combine(fixture.Cluster.Dir, "repo"), "*.copy.zst", SearchOption.AllDirectories), f => f.Contains(id, StringComparison.Ordinal));
        }
        var target = "rt_" + name;
        var restore = await Cluster.RunAsync("restore-logical", id, "--db", target);
        Assert.True(restore.ExitCode == 0, restore + fixture.Replay);
        await using var conn = Cluster.Superuser(1, target);
        await conn.OpenAsync();
        await fixture.AssertSameAsync(conn);

        // The restore test restores into a scratch instance (every referenced role created, no tablespaces) and compares content.
        var verify = await Cluster.RunAsync("backup", "verify", id, "--restore-test");
        Assert.True(verify.ExitCode == 0, verify + fixture.Replay);
        Assert.Contains("matches the backup", verify.Stdout);
    }

    [Fact]
    public async Task ThePlainGzipDumpRestoresEveryRow()
    {
        var id = await LogicalAsync("--format", "plain-gzip");
        var restore = await Cluster.RunAsync("restore-logical", id, "--db", "rt_plain");
        Assert.True(restore.ExitCode == 0, restore + fixture.Replay);
        await using var conn = Cluster.Superuser(1, "rt_plain");
        await conn.OpenAsync();
        await fixture.AssertSameAsync(conn, tablesOnly: true);
    }

    [Fact]
    public async Task APhysicalBackupRecoversToARestorePointExactly()
    {
        var backup = await Cluster.RunAsync("backup", "physical");
        Assert.True(backup.ExitCode == 0, backup.ToString());
        var point = await Cluster.RunAsync("restore-point", "rt_point");
        Assert.True(point.ExitCode == 0, point.ToString());
        await using (var source = Cluster.Superuser(1, BackupRoundTripFixture.Database))
        {
            await source.OpenAsync();
            // Committed after the point: the copy must not have it.
            await BackupRoundTripFixture.Exec(source, "INSERT INTO public.parent VALUES (-1, 'after the point')");
            await WalArchive.SwitchAndWaitAsync(source);
        }
        await using var copy = await RestoredCopy.StartAsync(Cluster, "rt-physical", "--target-name", "rt_point", "--target-action", "promote");
        await using var conn = copy.Connect(BackupRoundTripFixture.Database);
        await conn.OpenAsync();
        await fixture.AssertSameAsync(conn, physical: true);
        // The tablespace came back inside the copy (a directory, not a link to the source's tablespace).
        var inPlace = Directory.GetDirectories(Path.Combine(copy.Dir, "pg_tblspc")).Single();
        Assert.Null(new FileInfo(inPlace).LinkTarget);
        Assert.NotEmpty(Directory.GetFiles(inPlace, "*", SearchOption.AllDirectories));

        // The weekly restore test of a backup with a tablespace.
        var verify = await Cluster.RunAsync("backup", "verify", "latest", "--type", "physical", "--restore-test");
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }
}
