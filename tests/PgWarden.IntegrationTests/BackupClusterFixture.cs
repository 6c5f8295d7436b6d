using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// One 2-node cluster on 127.0.70.0/24 with a filesystem backup repository, shared by the backup
/// tests: a base backup, then marker rows a, b (its transaction id recorded; restore point after_b),
/// c, d committed at known times and positions, all archived.
/// </summary>
public sealed class BackupClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new(subnet: 70, nodes: 2, extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  archive_timeout: 60\n");

    public string Repo => Path.Combine(Cluster.Dir, "repo");

    public DateTimeOffset AfterA { get; private set; }
    public string LsnAfterC { get; private set; } = "";
    public string BackupId { get; private set; } = "";

    /// <summary>The transaction that inserted 'b' (for restore --target-xid).</summary>
    public string XidOfB { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Cluster.UpAsync();
        await using (var conn = Cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await Exec(conn, "CREATE TABLE markers (name text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
        }
        var backup = await Cluster.RunAsync("backup", "physical");
        Assert.True(backup.ExitCode == 0, backup.ToString() + Cluster.Logs());
        BackupId = backup.Stdout.Split(' ', '\n').First(w => w.EndsWith("-physical", StringComparison.Ordinal));

        await using (var conn = Cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await Task.Delay(1100);
            await Exec(conn, "INSERT INTO markers (name) VALUES ('a')");
            await Task.Delay(1100);
            AfterA = await Scalar<DateTime>(conn, "SELECT clock_timestamp()");
            await Task.Delay(1100);
            await using (var tx = await conn.BeginTransactionAsync())
            {
                await using var insert = new NpgsqlCommand("INSERT INTO markers (name) VALUES ('b'); SELECT txid_current()::text", conn, tx);
                XidOfB = (string)(await insert.ExecuteScalarAsync())!;
                await tx.CommitAsync();
            }
        }
        var point = await Cluster.RunAsync("restore-point", "after_b");
        Assert.True(point.ExitCode == 0, point.ToString());
        await using (var conn = Cluster.Superuser(1))
        {
            await conn.OpenAsync();
            await Exec(conn, "INSERT INTO markers (name) VALUES ('c')");
            LsnAfterC = await Scalar<string>(conn, "SELECT pg_current_wal_insert_lsn()::text");
            await Exec(conn, "INSERT INTO markers (name) VALUES ('d')");
            await WalArchive.SwitchAndWaitAsync(conn);
        }
    }

    public Task DisposeAsync() => Cluster.DisposeAsync().AsTask();

    public static async Task Exec(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task<T> Scalar<T>(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
