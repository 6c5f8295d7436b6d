using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>`pgwarden kill`, `vacuum` and `reindex`: they act on exactly what they say, and refuse unsafe requests with exit 7.</summary>
[Collection(MonitoringCollection.Name)]
public sealed class MonitoringActionsTests(MonitoringClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private async Task WaitAsync(string condition, string what)
    {
        await using var conn = await fixture.OpenAsync();
        await TestCluster.WaitForAsync(async () => await Scalar<bool>(conn, "SELECT " + condition) ? (object)true : null, TimeSpan.FromSeconds(20), what);
    }

    private async Task<long> StreamingReplicasAsync()
    {
        await using var conn = await fixture.OpenAsync();
        return await Scalar<long>(conn, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
    }

    private static void AssertListed(CliResult result, IEnumerable<int> listed, IEnumerable<int> notListed)
    {
        foreach (var pid in listed)
        {
            Assert.True(result.Stdout.Contains($"│ {pid} ", StringComparison.Ordinal), $"pid {pid} should be listed: {result}");
        }
        foreach (var pid in notListed)
        {
            Assert.False(result.Stdout.Contains($"│ {pid} ", StringComparison.Ordinal), $"pid {pid} must not be listed: {result}");
        }
    }

    [Fact]
    public async Task KillIdleTerminatesOnlyIdleClientSessions()
    {
        await using var idle1 = await MonitoringSession.OpenAsync(Cluster, "montest", "mon-idle-1");
        await using var idle2 = await MonitoringSession.OpenAsync(Cluster, "montest", "mon-idle-2");
        await using var busy = await MonitoringSession.OpenAsync(Cluster, "montest", "mon-busy");
        busy.Start("SELECT pg_sleep(600)");
        var idleAged = $"(SELECT count(*) FROM pg_stat_activity WHERE pid IN ({idle1.Pid}, {idle2.Pid}) AND state = 'idle' AND now() - state_change > interval '2.5 s') = 2";
        await WaitAsync(idleAged, "two sessions idle for 2.5 s");
        int[] walsenders;
        await using (var conn = await fixture.OpenAsync())
        {
            walsenders = (await Scalar<int[]>(conn, "SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity WHERE backend_type <> 'client backend'"));
        }

        var dry = await Cluster.RunAsync("kill", "idle", "--older-than", "2s", "--dry-run", "--database", "montest");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        AssertListed(dry, [idle1.Pid, idle2.Pid], [busy.Pid]);
        Assert.Contains("would terminate 2 sessions idle for more than 2s; nothing changed", dry.Stdout);
        // Across all databases: ours are listed, never a walsender or another background process.
        var dryAll = await Cluster.RunAsync("kill", "idle", "--older-than", "2s", "--dry-run");
        Assert.True(dryAll.ExitCode == 0, dryAll.ToString());
        AssertListed(dryAll, [idle1.Pid, idle2.Pid], walsenders.Append(busy.Pid));
        Assert.True(await idle1.IsAliveAsync() && await idle2.IsAliveAsync(), "a dry run must terminate nothing");

        var refused = await Cluster.RunAsync("kill", "idle", "--older-than", "2s", "--database", "montest");
        Assert.True(refused.ExitCode == 7, refused.ToString());
        Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => !l.StartsWith("pgwarden: building", StringComparison.Ordinal));

        await WaitAsync(idleAged, "the two sessions to be idle for 2.5 s again");
        var kill = await Cluster.RunAsync("kill", "idle", "--older-than", "2s", "--yes", "--database", "montest");
        Assert.True(kill.ExitCode == 0, kill.ToString());
        Assert.Contains("terminated 2 sessions idle for more than 2s on pg1", kill.Stdout);
        Assert.False(await idle1.IsAliveAsync());
        Assert.False(await idle2.IsAliveAsync());
        Assert.False(await busy.BackgroundFailedAsync(TimeSpan.FromMilliseconds(500)), "the active session must survive");
        await WaitAsync($"EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = {busy.Pid} AND state = 'active')", "the busy session to be still running");
        Assert.Equal(2, await StreamingReplicasAsync());
    }

    [Fact]
    public async Task KillLongRunningTerminatesOnlyTheOldQuery()
    {
        await using var sleeper = await MonitoringSession.OpenAsync(Cluster, "montest", "mon-long");
        await using var idle = await MonitoringSession.OpenAsync(Cluster, "montest", "mon-idle-3");
        sleeper.Start("SELECT pg_sleep(600)");
        await WaitAsync($"EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = {sleeper.Pid} AND state = 'active' AND now() - query_start > interval '2.5 s')", "a query running for 2.5 s");

        var dry = await Cluster.RunAsync("kill", "long-running", "--older-than", "2s", "--dry-run", "--database", "montest");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        AssertListed(dry, [sleeper.Pid], [idle.Pid]);
        Assert.Contains("would terminate 1 session running a query for more than 2s", dry.Stdout);
        Assert.False(await sleeper.BackgroundFailedAsync(TimeSpan.FromMilliseconds(200)));

        Assert.Equal(7, (await Cluster.RunAsync("kill", "long-running", "--older-than", "2s")).ExitCode);
        var none = await Cluster.RunAsync("kill", "long-running", "--older-than", "1h", "--yes", "--database", "montest");
        Assert.True(none.ExitCode == 0, none.ToString());
        Assert.Contains("terminated 0 sessions", none.Stdout);

        var kill = await Cluster.RunAsync("kill", "long-running", "--older-than", "2s", "--yes", "--database", "montest");
        Assert.True(kill.ExitCode == 0, kill.ToString());
        Assert.Contains("terminated 1 session running a query for more than 2s on pg1", kill.Stdout);
        Assert.True(await sleeper.BackgroundFailedAsync(TimeSpan.FromSeconds(5)), "the long query must have been terminated");
        Assert.True(await idle.IsAliveAsync(), "the idle session must survive");
        Assert.Equal(2, await StreamingReplicasAsync());
        var status = await Cluster.StatusJsonAsync();
        Assert.Equal("healthy", status.GetProperty("health").GetString());
    }

    [Fact]
    public async Task VacuumRefusesFullWithoutYesAndVacuumsOneTable()
    {
        await using (var conn = await fixture.OpenAsync())
        {
            await Exec(conn, """
                CREATE TABLE mon.vac_me (id int, t text) WITH (autovacuum_enabled = false);
                INSERT INTO mon.vac_me SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
                """);
            await Exec(conn, "BEGIN; DELETE FROM mon.vac_me WHERE id % 50 <> 0");
            var deleteXid = await Scalar<long>(conn, "SELECT txid_current()");
            await Exec(conn, "COMMIT");
            // With hot_standby_feedback the replicas' slots hold back xmin until their next status
            // message (wal_receiver_status_interval, 10 s); until then the deleted rows are not removable.
            await TestCluster.WaitForAsync(async () =>
                    await Scalar<bool>(conn, $"SELECT NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE xmin IS NOT NULL AND xmin::text::bigint <= {deleteXid})") ? (object)true : null,
                TimeSpan.FromSeconds(30), "the replicas' feedback to pass the DELETE");
        }
        var noYes = await Cluster.RunAsync("vacuum", "--full", "--table", "mon.vac_me");
        Assert.True(noYes.ExitCode == 7, noYes.ToString());
        Assert.Contains("ACCESS EXCLUSIVE", noYes.Stderr);
        Assert.Equal(7, (await Cluster.RunAsync("vacuum", "--full", "--yes")).ExitCode);
        var unknown = await Cluster.RunAsync("vacuum", "--table", "mon.no_such_table");
        Assert.True(unknown.ExitCode == 11, unknown.ToString());
        Assert.Contains("no table named 'mon.no_such_table'", unknown.Stderr);
        Assert.Equal(11, (await Cluster.RunAsync("vacuum", "--table", "mon.vac_me; DROP TABLE mon.vac_me")).ExitCode);
        Assert.Equal(7, (await Cluster.RunAsync("vacuum", "--node", "pg2")).ExitCode);

        var analyze = await Cluster.RunAsync("vacuum", "--analyze", "--table", "mon.vac_me");
        Assert.True(analyze.ExitCode == 0, analyze.ToString());
        Assert.Contains("VACUUM (ANALYZE) mon.vac_me on pg1", analyze.Stdout);

        long before, after;
        await using (var conn = await fixture.OpenAsync())
        {
            before = await Scalar<long>(conn, "SELECT pg_relation_size('mon.vac_me')");
        }
        var full = await Cluster.RunAsync("vacuum", "--full", "--table", "mon.vac_me", "--yes");
        Assert.True(full.ExitCode == 0, full.ToString());
        Assert.Contains("VACUUM (FULL) mon.vac_me on pg1", full.Stdout);
        await using (var conn = await fixture.OpenAsync())
        {
            after = await Scalar<long>(conn, "SELECT pg_relation_size('mon.vac_me')");
            Assert.Equal(1000L, await Scalar<long>(conn, "SELECT count(*) FROM mon.vac_me"));
        }
        string holders;
        await using (var conn = await fixture.OpenAsync())
        {
            holders = await Scalar<string>(conn, "SELECT coalesce(string_agg(format('%s %s %s %s', pid, backend_type, state, backend_xmin), '; '), '') FROM pg_stat_activity WHERE backend_xmin IS NOT NULL")
                      + " slots: " + await Scalar<string>(conn, "SELECT coalesce(string_agg(format('%s xmin %s', slot_name, xmin), '; '), '') FROM pg_replication_slots");
        }
        Assert.True(after * 10 < before, $"VACUUM FULL should shrink the table: {before} → {after} bytes (xmin holders: {holders})");
    }

    [Fact]
    public async Task ReindexConcurrentlyMakesAnInvalidIndexValid()
    {
        await using (var conn = await fixture.OpenAsync())
        {
            await Exec(conn, "CREATE TABLE mon.rx (id int, code int); INSERT INTO mon.rx SELECT g, g % 10 FROM generate_series(1, 100) g");
            await Assert.ThrowsAsync<PostgresException>(() => Exec(conn, "CREATE UNIQUE INDEX CONCURRENTLY rx_code_uniq ON mon.rx (code)"));
            Assert.False(await Scalar<bool>(conn, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'mon.rx_code_uniq'::regclass"));
            await Exec(conn, "DELETE FROM mon.rx WHERE id > 10");
        }
        var invalid = await MonitoringReportsTests.ReportRowsAsync(Cluster, "invalid-indexes");
        Assert.Contains(invalid, r => r.GetProperty("index").GetString() == "mon.rx_code_uniq");

        var locking = await Cluster.RunAsync("reindex", "mon.rx_code_uniq");
        Assert.True(locking.ExitCode == 7, locking.ToString());
        Assert.Equal(11, (await Cluster.RunAsync("reindex", "--concurrently", "mon.rx")).ExitCode);
        Assert.Equal(11, (await Cluster.RunAsync("reindex", "--concurrently", "mon.no_such_index")).ExitCode);

        var reindex = await Cluster.RunAsync("reindex", "--concurrently", "mon.rx_code_uniq");
        Assert.True(reindex.ExitCode == 0, reindex.ToString());
        Assert.Contains("REINDEX INDEX CONCURRENTLY mon.rx_code_uniq on pg1", reindex.Stdout);
        Assert.Contains("mon.rx_code_uniq: valid", reindex.Stdout);
        await using (var conn = await fixture.OpenAsync())
        {
            Assert.True(await Scalar<bool>(conn, "SELECT indisvalid AND indisready FROM pg_index WHERE indexrelid = 'mon.rx_code_uniq'::regclass"));
        }
        invalid = await MonitoringReportsTests.ReportRowsAsync(Cluster, "invalid-indexes");
        Assert.DoesNotContain(invalid, r => r.GetProperty("index").GetString()!.StartsWith("mon.rx", StringComparison.Ordinal));

        var table = await Cluster.RunAsync("reindex", "--concurrently", "table:mon.rx");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("REINDEX TABLE CONCURRENTLY mon.rx on pg1", table.Stdout);
    }
}
