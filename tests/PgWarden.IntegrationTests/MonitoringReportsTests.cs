using System.Text.Json;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>Each `pgwarden report` finds exactly the problems the fixture built into the database, and nothing else of ours.</summary>
[Collection(MonitoringCollection.Name)]
public sealed class MonitoringReportsTests(MonitoringClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    internal static async Task<List<JsonElement>> ReportRowsAsync(TestCluster cluster, params string[] args)
    {
        var result = await cluster.RunAsync(["report", .. args, "--json", "--limit", "500"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var doc = CliJson.Data(result.Stdout);
        Assert.Equal(args[0], doc.GetProperty("report").GetString());
        Assert.True(doc.GetProperty("columns").GetArrayLength() > 0);
        return doc.GetProperty("rows").EnumerateArray().ToList();
    }

    private static string? Str(JsonElement row, string column) => row.GetProperty(column).ValueKind == JsonValueKind.Null ? null : row.GetProperty(column).ToString();

    private static HashSet<string> Names(IEnumerable<JsonElement> rows, string column, string prefix = "mon.") =>
        rows.Select(r => Str(r, column)!).Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToHashSet();

    [Fact]
    public async Task ChecklistFindsTheSlowQueryTheBloatAndTheInvalidIndex()
    {
        await using (var conn = await fixture.OpenAsync())
        {
            await Exec(conn, "CREATE TABLE mon.chk_bloat (id int, pad text) WITH (autovacuum_enabled = false)");
            await Exec(conn, "INSERT INTO mon.chk_bloat SELECT g, repeat('x', 50) FROM generate_series(1, 30000) g");
            await Exec(conn, "DELETE FROM mon.chk_bloat WHERE id > 3000");
            await Exec(conn, "CREATE TABLE mon.chk_dup (c int)");
            await Exec(conn, "INSERT INTO mon.chk_dup VALUES (1), (1)");
            await Assert.ThrowsAsync<PostgresException>(() => Exec(conn, "CREATE UNIQUE INDEX CONCURRENTLY chk_dup_u ON mon.chk_dup (c)"));
            await Exec(conn, "SELECT pg_sleep(1.1) FROM (VALUES (1)) AS chk_slow(x)");
        }
        try
        {
            await Task.Delay(1500); // table statistics reach pg_stat_user_tables within a second
            var weekly = await Cluster.RunAsync("check", "weekly", "--json");
            Assert.Equal(1, weekly.ExitCode);
            var items = CliJson.Data(weekly.Stdout).GetProperty("items").EnumerateArray()
                .ToDictionary(i => i.GetProperty("name").GetString()!, i => (Status: i.GetProperty("status").GetString(), Reason: i.GetProperty("reason").GetString()!));
            Assert.Equal("warn", items["slow queries"].Status);
            Assert.Equal("warn", items["bloat"].Status);
            Assert.Contains("mon.chk_bloat", items["bloat"].Reason);

            var monthly = await Cluster.RunAsync("check", "monthly", "--json");
            Assert.Equal(2, monthly.ExitCode);
            var reindex = CliJson.Data(monthly.Stdout).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "reindex");
            Assert.Equal("fail", reindex.GetProperty("status").GetString());
            Assert.Contains("invalid", reindex.GetProperty("reason").GetString());
        }
        finally
        {
            await using var conn = await fixture.OpenAsync();
            await Exec(conn, "DROP TABLE IF EXISTS mon.chk_bloat, mon.chk_dup");
        }
    }

    [Fact]
    public async Task UnknownReportIsOneLineListingTheReports()
    {
        var result = await Cluster.RunAsync("report", "nosuch");
        Assert.True(result.ExitCode == 11, result.ToString());
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("pgwarden: building", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains("unknown report 'nosuch' (reports: sizes, connections, waiting, cache-hit, index-usage, slow-queries, vacuum, replication, unused-indexes, duplicate-indexes, invalid-indexes, bloat, long-running, blocking, wraparound, sequences)", lines[0]);

        var badAge = await Cluster.RunAsync("report", "long-running", "--older-than", "soon");
        Assert.True(badAge.ExitCode == 2, badAge.ToString());
        var list = await Cluster.RunAsync("report");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("duplicate-indexes", list.Stdout);
    }

    [Fact]
    public async Task SizesQuoteNamesAndSplitTheTotal()
    {
        var rows = await ReportRowsAsync(Cluster, "sizes");
        Assert.Equal("database", Str(rows[0], "kind"));
        Assert.Equal("bookreader", Str(rows[0], "name"));
        var big = Assert.Single(rows, r => Str(r, "name") == "mon.\"Big Table\"");
        var total = big.GetProperty("total_bytes").GetInt64();
        Assert.True(total > 1_000_000, $"total {total}");
        Assert.Equal(total, big.GetProperty("table_bytes").GetInt64() + big.GetProperty("index_bytes").GetInt64() + big.GetProperty("toast_bytes").GetInt64());
        // The terminal table shows the same quoted name.
        var text = await Cluster.RunAsync("report", "sizes", "--limit", "3");
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("mon.\"Big Table\"", text.Stdout);
    }

    [Fact]
    public async Task IndexReportsFindExactlyTheUnusedDuplicateAndInvalidIndexes()
    {
        var unused = await ReportRowsAsync(Cluster, "unused-indexes");
        Assert.Equal(["mon.orders_note_unused"], Names(unused.Where(r => Str(r, "table") == "mon.orders"), "index"));

        var duplicates = (await ReportRowsAsync(Cluster, "duplicate-indexes")).Where(r => Str(r, "table")!.StartsWith("mon.", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, duplicates.Count);
        var dup = Assert.Single(duplicates, r => Str(r, "kind") == "duplicate");
        Assert.Equal(("mon.items_a_dup", "mon.items_a"), (Str(dup, "index"), Str(dup, "same_as")));
        var prefix = Assert.Single(duplicates, r => Str(r, "kind") == "redundant prefix");
        Assert.Equal(("mon.items_a", "mon.items_a_b"), (Str(prefix, "index"), Str(prefix, "same_as")));

        var invalid = await ReportRowsAsync(Cluster, "invalid-indexes");
        var bad = Assert.Single(invalid, r => Str(r, "table") == "mon.items");
        Assert.Equal("mon.items_code_uniq", Str(bad, "index"));
        Assert.False(bad.GetProperty("valid").GetBoolean());

        var usage = await ReportRowsAsync(Cluster, "index-usage");
        Assert.True(usage.Single(r => Str(r, "index") == "mon.orders_customer").GetProperty("idx_scan").GetInt64() >= 1);
    }

    [Fact]
    public async Task BloatAndVacuumReportsFindTheBloatedTable()
    {
        var bloat = await ReportRowsAsync(Cluster, "bloat");
        Assert.Equal(["mon.bloated", "mon.bloated_pkey"], Names(bloat, "name").Order().ToList());
        var table = bloat.Single(r => Str(r, "name") == "mon.bloated");
        Assert.Equal("table", Str(table, "kind"));
        Assert.True(table.GetProperty("wasted_pct").GetDecimal() >= 80, table.ToString());
        Assert.True(table.GetProperty("est_wasted_bytes").GetInt64() > 5_000_000, table.ToString());

        var vacuum = await ReportRowsAsync(Cluster, "vacuum");
        var row = vacuum.Single(r => Str(r, "table") == "mon.bloated");
        Assert.Equal("off", Str(row, "autovacuum"));
        Assert.True(row.GetProperty("n_dead_tup").GetInt64() >= 50_000, row.ToString());
        Assert.True(row.GetProperty("dead_pct").GetDecimal() >= 80, row.ToString());
        Assert.Equal("mon.bloated", Str(vacuum[0], "table"));
    }

    [Fact]
    public async Task SequencesWraparoundConnectionsAndCacheHit()
    {
        var sequences = await ReportRowsAsync(Cluster, "sequences");
        var nearlyFull = sequences.Where(r => r.GetProperty("pct_used").GetDecimal() >= 50).ToList();
        var seq = Assert.Single(nearlyFull);
        Assert.Equal("mon.near_exhausted", Str(seq, "sequence"));
        Assert.Equal(95m, seq.GetProperty("pct_used").GetDecimal());
        Assert.Equal(100, seq.GetProperty("max_value").GetInt64());

        var wrap = await ReportRowsAsync(Cluster, "wraparound");
        Assert.Contains(wrap, r => Str(r, "database") == "bookreader" && r.GetProperty("xid_age").GetInt64() > 0);

        var connections = await ReportRowsAsync(Cluster, "connections");
        var limit = connections.Single(r => Str(r, "group") == "limit");
        Assert.Equal(100, limit.GetProperty("connections").GetInt64());
        Assert.Contains(connections, r => Str(r, "group") == "database/user" && Str(r, "name") == "bookreader/postgres");

        var cache = await ReportRowsAsync(Cluster, "cache-hit");
        Assert.Equal("database", Str(cache[0], "scope"));
        Assert.Contains(cache, r => Str(r, "name") == "mon.bloated");
    }

    [Fact]
    public async Task SlowQueriesShowTheSleepsAndResetClearsThem()
    {
        await using (var conn = await fixture.OpenAsync())
        {
            for (var i = 0; i < 3; i++)
            {
                await Exec(conn, "SELECT pg_sleep(0.3) FROM (VALUES (1)) AS mon_slow(x)");
            }
        }
        var rows = await ReportRowsAsync(Cluster, "slow-queries");
        var slow = Assert.Single(rows, r => Str(r, "query")!.Contains("mon_slow", StringComparison.Ordinal));
        Assert.Equal(3, slow.GetProperty("calls").GetInt64());
        Assert.True(slow.GetProperty("mean_ms").GetDecimal() >= 300, slow.ToString());
        Assert.Equal("bookreader", Str(slow, "database"));

        var reset = await Cluster.RunAsync("report", "slow-queries", "--reset", "--limit", "500");
        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.Contains("mon_slow", reset.Stdout);
        Assert.Contains("pg_stat_statements reset on pg1", reset.Stdout);
        var after = await ReportRowsAsync(Cluster, "slow-queries");
        Assert.DoesNotContain(after, r => Str(r, "query")!.Contains("mon_slow", StringComparison.Ordinal));

        var wrongReset = await Cluster.RunAsync("report", "sizes", "--reset");
        Assert.True(wrongReset.ExitCode == 2, wrongReset.ToString());
    }

    [Fact]
    public async Task LongRunningWaitingAndBlockingFindExactlyTheStuckSessions()
    {
        await using var sleeper = await MonitoringSession.OpenAsync(Cluster, "bookreader", "mon-sleeper");
        await using var blocker = await MonitoringSession.OpenAsync(Cluster, "bookreader", "mon-blocker");
        await using var waiter = await MonitoringSession.OpenAsync(Cluster, "bookreader", "mon-waiter");
        await using var idle = await MonitoringSession.OpenAsync(Cluster, "bookreader", "mon-idle");
        sleeper.Start("SELECT pg_sleep(600)");
        await blocker.ExecAsync("BEGIN; UPDATE mon.locked SET v = v + 1 WHERE id = 1");
        waiter.Start("UPDATE mon.locked SET v = v + 2 WHERE id = 1");
        await using (var conn = await fixture.OpenAsync())
        {
            await TestCluster.WaitForAsync(async () =>
                await Scalar<long>(conn, $"SELECT count(*) FROM pg_stat_activity WHERE pid IN ({sleeper.Pid}, {waiter.Pid}) AND state = 'active' AND now() - query_start > interval '2 s'") == 2 ? (object)true : null,
                TimeSpan.FromSeconds(20), "the sleeper and the waiter to run for 2 s");
        }

        var ours = new HashSet<long> { sleeper.Pid, blocker.Pid, waiter.Pid, idle.Pid };
        var longRunning = await ReportRowsAsync(Cluster, "long-running", "--older-than", "2s");
        Assert.Equal(new HashSet<long> { sleeper.Pid, waiter.Pid }, longRunning.Select(r => r.GetProperty("pid").GetInt64()).ToHashSet());
        var defaultAge = await ReportRowsAsync(Cluster, "long-running");
        Assert.Empty(defaultAge);

        var waiting = await ReportRowsAsync(Cluster, "waiting");
        Assert.Equal(new HashSet<long> { sleeper.Pid, waiter.Pid }, waiting.Select(r => r.GetProperty("pid").GetInt64()).Where(ours.Contains).ToHashSet());
        Assert.Equal("Lock", Str(waiting.Single(r => r.GetProperty("pid").GetInt64() == waiter.Pid), "wait_event_type"));

        var blocking = await ReportRowsAsync(Cluster, "blocking");
        var row = Assert.Single(blocking);
        Assert.Equal(waiter.Pid, row.GetProperty("blocked_pid").GetInt64());
        Assert.Equal(blocker.Pid, row.GetProperty("blocking_pid").GetInt64());
        Assert.Equal("idle in transaction", Str(row, "blocking_state"));
        Assert.Equal("ShareLock", Str(row, "lock_mode"));
        Assert.Contains("UPDATE mon.locked SET v = v + 2", Str(row, "blocked_query"));
        Assert.Contains("UPDATE mon.locked SET v = v + 1", Str(row, "blocking_query"));
    }

    [Fact]
    public async Task ReplicationReportShowsAPausedReplica()
    {
        await using var replica = await fixture.OpenAsync(node: 3);
        try
        {
            await Exec(replica, "SELECT pg_wal_replay_pause()");
            await using (var primary = await fixture.OpenAsync())
            {
                await Exec(primary, "CREATE TABLE IF NOT EXISTS mon.replicated (id int); INSERT INTO mon.replicated SELECT generate_series(1, 1000)");
            }
            await TestCluster.WaitForAsync(async () =>
                await Scalar<bool>(replica, "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() AND pg_get_wal_replay_pause_state() = 'paused'") ? (object)true : null,
                TimeSpan.FromSeconds(20), "pg3 to receive WAL it does not replay");

            var onReplica = Assert.Single(await ReportRowsAsync(Cluster, "replication", "--node", "pg3"));
            Assert.True(onReplica.GetProperty("replay_paused").GetBoolean(), onReplica.ToString());
            Assert.Equal("paused", Str(onReplica, "replay_pause_state"));
            Assert.True(onReplica.GetProperty("replay_pending_bytes").GetInt64() > 0, onReplica.ToString());
            Assert.True(onReplica.GetProperty("lag_s").GetDecimal() > 0, onReplica.ToString());

            var onPrimary = await ReportRowsAsync(Cluster, "replication");
            Assert.Equal(["pg2", "pg3"], onPrimary.Select(r => Str(r, "replica")!).Order().ToList());
            Assert.All(onPrimary, r => Assert.Equal("streaming", Str(r, "state")));
            Assert.True(onPrimary.Single(r => Str(r, "replica") == "pg3").GetProperty("replay_lag_bytes").GetInt64() > 0);
        }
        finally
        {
            await Exec(replica, "SELECT pg_wal_replay_resume()");
        }
        Assert.False(Assert.Single(await ReportRowsAsync(Cluster, "replication", "--node", "pg3")).GetProperty("replay_paused").GetBoolean());
    }
}
