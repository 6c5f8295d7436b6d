using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>Waits for PostgreSQL's archiver (pg_stat_archiver) in the backup tests.</summary>
public static class WalArchive
{
    /// <summary>Switches to a new WAL segment and waits until the one written so far is archived; returns its name.</summary>
    public static async Task<string> SwitchAndWaitAsync(NpgsqlConnection conn, TimeSpan? timeout = null)
    {
        var last = await BackupClusterFixture.Scalar<string>(conn, "SELECT pg_walfile_name(pg_current_wal_lsn())");
        await BackupClusterFixture.Exec(conn, "SELECT pg_switch_wal()");
        await WaitArchivedAsync(conn, last, timeout ?? TimeSpan.FromSeconds(60));
        return last;
    }

    /// <summary>Waits until pg_stat_archiver's last archived file is <paramref name="segment"/> or later.</summary>
    public static Task WaitArchivedAsync(NpgsqlConnection conn, string segment, TimeSpan timeout) =>
        TestCluster.WaitForAsync(async () =>
        {
            var archived = await BackupClusterFixture.Scalar<string?>(conn, "SELECT last_archived_wal FROM pg_stat_archiver");
            return archived is not null && string.CompareOrdinal(archived, segment) >= 0 ? "ok" : null;
        }, timeout, $"{segment} to be archived");
}
