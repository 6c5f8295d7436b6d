using System.Text.Json;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// A 2-node cluster on 127.0.122.0/24: a backup from the replica is restorable the moment it reports
/// complete (fault 7), and an archiver failing on the replica only — the primary's is frozen — shows
/// in status, check daily and the metrics (fault 5); once it recovers, the segment fetched back from
/// the archive equals the bytes in pg_wal.
/// </summary>
public sealed class BackupReplicaTests
{
    [Fact]
    public async Task BackupsFromTheReplicaRestoreAndReplicaArchivingFailuresShow()
    {
        await using var cluster = new TestCluster(subnet: 122, nodes: 2,
            extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  archive_timeout: 60\n  schedule: { logical: 'off', physical: 'off', verify: 'off' }\n");
        await cluster.UpAsync();
        await using var primary = cluster.Superuser(1);
        await primary.OpenAsync();
        await BackupClusterFixture.Exec(primary, "CREATE TABLE replica_rows AS SELECT g AS id FROM generate_series(1, 1000) g; CHECKPOINT");
        // An idle cluster right after a segment switch: the replica's backup stops at a segment boundary.
        await WalArchive.SwitchAndWaitAsync(primary);

        var backup = await cluster.RunAsync("backup", "physical", "--from-replica");
        Assert.True(backup.ExitCode == 0, backup.ToString());
        Assert.Contains("of pg2", backup.Stdout);
        var verify = await cluster.RunAsync("backup", "verify", "latest", "--type", "physical", "--restore-test");
        Assert.True(verify.ExitCode == 0, verify.ToString());

        // The replica's archiver fails (the archive refuses writes) while the primary's is frozen.
        var walDir = Directory.GetDirectories(Path.Combine(cluster.Dir, "repo"), "wal", SearchOption.AllDirectories).Single(d => !d.Contains("/_keys/", StringComparison.Ordinal));
        var archiver = await BackupClusterFixture.Scalar<int>(primary, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'archiver'");
        var mode = File.GetUnixFileMode(walDir);
        TestCluster.Signal(archiver, 19);
        string failing;
        byte[] inPgWal;
        try
        {
            File.SetUnixFileMode(walDir, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            await BackupClusterFixture.Exec(primary, "INSERT INTO replica_rows SELECT g FROM generate_series(1001, 2000) g");
            failing = await BackupClusterFixture.Scalar<string>(primary, "SELECT pg_walfile_name(pg_current_wal_lsn())");
            await BackupClusterFixture.Exec(primary, "SELECT pg_switch_wal()");
            var problem = await ArchiveOutage.StatusProblemAsync(cluster, "pg2: WAL archiving is failing", TimeSpan.FromSeconds(90));
            Assert.Contains(failing, problem, StringComparison.Ordinal);
            var daily = await cluster.RunAsync("check", "daily", "--json");
            var item = JsonDocument.Parse(daily.Stdout).RootElement.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "wal archiving");
            Assert.Equal("fail", item.GetProperty("status").GetString());
            Assert.Contains("pg2", item.GetProperty("reason").GetString());
            using var http = cluster.ApiHttp(TimeSpan.FromSeconds(10));
            var metrics = await http.GetStringAsync($"{cluster.ApiUrl(2)}/metrics");
            Assert.Contains("pgwarden_wal_archive_failing 1", metrics);
            inPgWal = await File.ReadAllBytesAsync(Path.Combine(cluster.DataDir(1), "pg_wal", failing));
        }
        finally
        {
            File.SetUnixFileMode(walDir, mode);
            TestCluster.Signal(archiver, 18);
        }
        // Nothing lost: once writable, the segment is archived and reads back byte for byte.
        await WalArchive.WaitArchivedAsync(primary, failing, TimeSpan.FromSeconds(90));
        await ArchiveOutage.AssertFetchedEqualsAsync(cluster, failing, inPgWal);
    }
}
