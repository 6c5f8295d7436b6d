using System.Text.Json;
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
            Directory.GetDirectories(Path.Combine(cluster.Dir, "repo"), "wal", SearchOption.AllDirectories).FirstOrDefault()), TimeSpan.FromSeconds(30), "the archive's wal directory");

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
            var problem = await TestCluster.WaitForAsync(async () =>
            {
                var status = await cluster.RunAsync("status", "--json");
                var problems = JsonDocument.Parse(status.Stdout).RootElement.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList();
                return status.ExitCode == 1 ? problems.FirstOrDefault(p => p.Contains("WAL archiving is failing", StringComparison.Ordinal)) : null;
            }, TimeSpan.FromSeconds(60), "status to report the failing archive");
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
        var fetched = Path.Combine(cluster.Dir, "fetched-" + failing);
        var fetch = await cluster.RunAsync("wal-fetch", "--data-dir", cluster.DataDir(1), failing, fetched);
        Assert.True(fetch.ExitCode == 0, fetch.ToString());
        Assert.Equal(inPgWal, await File.ReadAllBytesAsync(fetched));
        await TestCluster.WaitForAsync(async () => (await cluster.RunAsync("status")).ExitCode == 0 ? "healthy" : null,
            TimeSpan.FromSeconds(30), "status to be healthy again");
    }
}
