using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Point-in-time recovery across a failover: a base backup on timeline 1, the primary's archiver
/// stalls (so only the replica, with archive_mode = always, archives the last segment), its host
/// crashes, the replica is promoted (timeline 2) and keeps archiving; a restore to a time after
/// the failover follows the timeline history and has exactly the rows committed before it.
/// </summary>
public sealed class BackupTimelineTests
{
    [Fact]
    public async Task RestoreFollowsTheTimelineSwitchOfAFailover()
    {
        await using var cluster = new TestCluster(subnet: 75, nodes: 2,
            extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  archive_timeout: 60\n  schedule: { logical: 'off', physical: 'off' }\n");
        await cluster.UpAsync();
        int archiver;
        string segmentOfA;
        await using (var conn = cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await BackupClusterFixture.Exec(conn, "CREATE TABLE markers (name text PRIMARY KEY)");
            var backup = await cluster.RunAsync("backup", "physical");
            Assert.True(backup.ExitCode == 0, backup.ToString());
            await WalArchive.SwitchAndWaitAsync(conn);
            // pg1's archiver freezes: the segment holding 'a' is complete on pg1 but never archived by it.
            archiver = await BackupClusterFixture.Scalar<int>(conn, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'archiver'");
            TestCluster.Signal(archiver, 19);
            await BackupClusterFixture.Exec(conn, "INSERT INTO markers VALUES ('a')");
            segmentOfA = await BackupClusterFixture.Scalar<string>(conn, "SELECT pg_walfile_name(pg_current_wal_lsn())");
            await BackupClusterFixture.Exec(conn, "SELECT pg_switch_wal()");
        }
        await WaitReplayedAsync(cluster);
        // archive_mode = always: the replica archives the segment it received.
        await using (var replica = cluster.Superuser(2))
        {
            await replica.OpenAsync();
            await WalArchive.WaitArchivedAsync(replica, segmentOfA, TimeSpan.FromSeconds(60));
        }

        // Host crash of pg1: its agent (and with it PostgreSQL) is killed; pg2 takes over after the lease.
        var agent = TestCluster.ReadPid(Path.Combine(cluster.Dir, "nodes", "pg1", "agent.pid"))!.Value;
        TestCluster.Signal(agent, 9);
        TestCluster.Signal(archiver, 9);
        await TestCluster.WaitForAsync(async () =>
        {
            try
            {
                await using var c = cluster.Superuser(2);
                await c.OpenAsync();
                return await BackupClusterFixture.Scalar<bool>(c, "SELECT NOT pg_is_in_recovery()") ? "promoted" : null;
            }
            catch (NpgsqlException)
            {
                return null;
            }
        }, TimeSpan.FromSeconds(60), "pg2 to be promoted");

        DateTimeOffset afterB;
        await using (var conn = cluster.Superuser(2))
        {
            await conn.OpenAsync();
            // The WAL file name starts with the timeline the new primary writes on.
            Assert.StartsWith("00000002", await BackupClusterFixture.Scalar<string>(conn, "SELECT pg_walfile_name(pg_current_wal_lsn())"), StringComparison.Ordinal);
            await BackupClusterFixture.Exec(conn, "INSERT INTO markers VALUES ('b')");
            await Task.Delay(1100);
            afterB = await BackupClusterFixture.Scalar<DateTime>(conn, "SELECT clock_timestamp()");
            await Task.Delay(1100);
            await BackupClusterFixture.Exec(conn, "INSERT INTO markers VALUES ('c')");
            await WalArchive.SwitchAndWaitAsync(conn);
        }
        Assert.True(File.Exists(Directory.GetFiles(Path.Combine(cluster.Dir, "repo"), "00000002.history*", SearchOption.AllDirectories).FirstOrDefault() ?? ""),
            "the new primary archived its timeline history file");
        await using (var pg2 = cluster.Superuser(2))
        {
            await pg2.OpenAsync();
            // Segments both nodes pushed were identical: no archive failure on pg2.
            Assert.Equal(0L, await BackupClusterFixture.Scalar<long>(pg2, "SELECT failed_count FROM pg_stat_archiver"));
        }

        var toTime = await ScratchRestore.RunAsync(cluster, "after-b", "--target-time", afterB.ToString("yyyy-MM-dd HH:mm:ss.ffffffzzz"));
        // 'b' exists only on timeline 2: the restore followed the switch.
        Assert.Equal(["a", "b"], toTime.Markers);

        var toEnd = await ScratchRestore.RunAsync(cluster, "end");
        Assert.Equal(["a", "b", "c"], toEnd.Markers);

        // What the weekly scheduled restore test runs, after the timeline switch.
        var verify = await cluster.RunAsync("backup", "verify", "latest", "--type", "physical", "--restore-test");
        Assert.True(verify.ExitCode == 0, verify.ToString());

        // Rebuild the whole cluster at the point after 'b': refused while it runs or while a data
        // directory is in the way; then pg1 becomes the restored primary and pg2 clones it.
        var atTarget = afterB.ToString("yyyy-MM-dd HH:mm:ss.ffffffzzz");
        var whileRunning = await cluster.RunAsync("restore", "--cluster", "--yes", "--target-time", atTarget);
        Assert.True(whileRunning.ExitCode != 0 && whileRunning.Stderr.Contains("is running", StringComparison.Ordinal), whileRunning.ToString());
        var down = await cluster.RunAsync("down");
        Assert.True(down.ExitCode == 0, down.ToString());
        var dataInTheWay = await cluster.RunAsync("restore", "--cluster", "--yes", "--target-time", atTarget);
        Assert.True(dataInTheWay.ExitCode != 0 && dataInTheWay.Stderr.Contains("never overwrites a data directory", StringComparison.Ordinal), dataInTheWay.ToString());
        Directory.Move(cluster.DataDir(1), cluster.DataDir(1) + ".old");
        Directory.Move(cluster.DataDir(2), cluster.DataDir(2) + ".old");
        var rebuild = await cluster.RunAsync("restore", "--cluster", "--yes", "--target-time", atTarget);
        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
        var up = await cluster.RunAsync("up");
        Assert.True(up.ExitCode == 0, up.ToString() + cluster.Logs());
        await TestCluster.WaitForAsync(async () =>
        {
            var status = await cluster.RunAsync("status");
            return status.ExitCode == 0 ? "healthy" : null;
        }, TimeSpan.FromSeconds(90), "the rebuilt cluster to be healthy");
        foreach (var node in new[] { 1, 2 })
        {
            await using var conn = cluster.Superuser(node);
            await conn.OpenAsync();
            await TestCluster.WaitForAsync(async () =>
                await BackupClusterFixture.Scalar<long>(conn, "SELECT count(*) FROM markers") == 2 ? "ok" : null, TimeSpan.FromSeconds(30), $"pg{node} to have a and b");
            Assert.Equal(node == 1, await BackupClusterFixture.Scalar<bool>(conn, "SELECT NOT pg_is_in_recovery()"));
        }
        // The rebuild started timeline 3 and archived its history before the cluster took a write.
        Assert.Contains("archived 00000003.history", rebuild.Stdout);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(cluster.Dir, "repo"), "00000003.history.zst", SearchOption.AllDirectories));
        await using (var primary = cluster.Superuser(1))
        {
            await primary.OpenAsync();
            Assert.StartsWith("00000003", await BackupClusterFixture.Scalar<string>(primary, "SELECT pg_walfile_name(pg_current_wal_lsn())"), StringComparison.Ordinal);
            await BackupClusterFixture.Exec(primary, "INSERT INTO markers VALUES ('after-rebuild')");
            await WalArchive.SwitchAndWaitAsync(primary);
        }
        // "The end of the archive" now follows the rebuilt cluster's timeline, not the abandoned one that has 'c'.
        var afterRebuild = await ScratchRestore.RunAsync(cluster, "after-rebuild");
        Assert.Equal(["a", "after-rebuild", "b"], afterRebuild.Markers);
    }

    /// <summary>pg2 has replayed everything pg1 wrote (so the failover loses nothing).</summary>
    private static async Task WaitReplayedAsync(TestCluster cluster)
    {
        await using var primary = cluster.Superuser(1);
        await primary.OpenAsync();
        var lsn = await BackupClusterFixture.Scalar<string>(primary, "SELECT pg_current_wal_lsn()::text");
        await using var replica = cluster.Superuser(2);
        await replica.OpenAsync();
        await TestCluster.WaitForAsync(async () =>
            await BackupClusterFixture.Scalar<bool>(replica, $"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") ? "ok" : null,
            TimeSpan.FromSeconds(30), "pg2 to replay pg1's WAL");
    }
}
