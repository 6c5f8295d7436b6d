using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// A repository that refuses writes: wal-push fails, PostgreSQL keeps the WAL and retries, status
/// shows the failure (degraded); once the repository is writable again the backlog is archived and
/// nothing is missing.
/// </summary>
public sealed class BackupArchiveFailureTests
{
    [Fact]
    public async Task AFailingArchiveIsVisibleInStatusAndLosesNothing()
    {
        await using var cluster = new TestCluster(subnet: 77, nodes: 1,
            extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  archive_timeout: 60\n  schedule: { logical: 'off', physical: 'off', verify: 'off' }\n");
        await cluster.UpAsync();
        await using var conn = cluster.Superuser(1);
        await conn.OpenAsync();
        await WalArchive.SwitchAndWaitAsync(conn);
        var walDir = await TestCluster.WaitForAsync(() => Task.FromResult(
            Directory.GetDirectories(Path.Combine(cluster.Dir, "repo"), "wal", SearchOption.AllDirectories).FirstOrDefault(d => !d.Contains("/_keys/", StringComparison.Ordinal))), TimeSpan.FromSeconds(30), "the archive's wal directory");

        // The archive refuses writes (the postgres OS user runs wal-push).
        var mode = File.GetUnixFileMode(walDir!);
        File.SetUnixFileMode(walDir!, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        string failing;
        byte[] inPgWal;
        try
        {
            await BackupClusterFixture.Exec(conn, "CREATE TABLE t AS SELECT 1 AS x");
            failing = await BackupClusterFixture.Scalar<string>(conn, "SELECT pg_walfile_name(pg_current_wal_lsn())");
            await BackupClusterFixture.Exec(conn, "SELECT pg_switch_wal()");
            var problem = await ArchiveOutage.StatusProblemAsync(cluster, "pg1: WAL archiving is failing", TimeSpan.FromSeconds(60));
            Assert.Contains(failing, problem, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(cluster.DataDir(1), "pg_wal", failing)), "PostgreSQL keeps the segment it could not archive");
            inPgWal = await File.ReadAllBytesAsync(Path.Combine(cluster.DataDir(1), "pg_wal", failing));
        }
        finally
        {
            File.SetUnixFileMode(walDir!, mode);
        }

        // Writable again: PostgreSQL's retry archives the backlog, status is healthy again.
        await WalArchive.WaitArchivedAsync(conn, failing, TimeSpan.FromSeconds(90));
        // Nothing lost: the segment fetched back from the archive is, byte for byte, what PostgreSQL kept in pg_wal.
        await ArchiveOutage.AssertFetchedEqualsAsync(cluster, failing, inPgWal);
        await TestCluster.WaitForAsync(async () => (await cluster.RunAsync("status")).ExitCode == 0 ? "healthy" : null,
            TimeSpan.FromSeconds(30), "status to be healthy again");
    }
}
