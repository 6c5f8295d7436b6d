using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>/metrics parsed as Prometheus text, a scrape of a frozen PostgreSQL, the checklist and diagnosis on a real cluster.</summary>
public sealed class MetricsAndChecksTests
{
    private static async Task<Dictionary<string, double>> ScrapeAsync(TestCluster cluster, int node, TimeSpan? limit = null)
    {
        using var http = cluster.ApiHttp(TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        var text = await http.GetStringAsync($"{cluster.ApiUrl(node)}/metrics");
        if (limit is { } l)
        {
            Assert.True(clock.Elapsed < l, $"scrape took {clock.Elapsed.TotalSeconds:0.0} s");
        }
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            // Exposition format: name{labels} value
            var space = line.LastIndexOf(' ');
            Assert.True(space > 0, $"not a sample line: {line}");
            samples[line[..space]] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return samples;
    }

    /// <summary>
    /// What the collector used to read from the statistics views (the 20 largest tables by page
    /// count, the 20 most scanned and 20 unused indexes), as series name → value.
    /// </summary>
    private static async Task<Dictionary<string, double>> ViewSeriesAsync(TestCluster cluster)
    {
        var series = new Dictionary<string, double>();
        await using var conn = cluster.Superuser(1);
        await conn.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await Exec(conn, "SET LOCAL stats_fetch_consistency = snapshot");
        await using (var cmd = new NpgsqlCommand("""
            SELECT s.schemaname, s.relname, pg_total_relation_size(s.relid)::float8, s.n_live_tup::float8, s.n_dead_tup::float8
            FROM (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
                  ORDER BY c.relpages DESC, c.oid LIMIT 20) top
            JOIN pg_stat_user_tables s ON s.relid = top.oid
            """, conn, tx))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                var labels = $"{{datname=\"bookreader\",schemaname=\"{r.GetString(0)}\",relname=\"{r.GetString(1)}\"}}";
                series["pg_stat_user_tables_size_bytes" + labels] = r.GetDouble(2);
                series["pg_stat_user_tables_n_live_tup" + labels] = r.GetDouble(3);
                series["pg_stat_user_tables_n_dead_tup" + labels] = r.GetDouble(4);
            }
        }
        await using (var cmd = new NpgsqlCommand("""
            (SELECT schemaname, relname, indexrelname, idx_scan::float8 FROM pg_stat_user_indexes ORDER BY idx_scan DESC, indexrelid LIMIT 20)
            UNION
            (SELECT schemaname, relname, indexrelname, idx_scan::float8 FROM pg_stat_user_indexes WHERE idx_scan = 0 ORDER BY indexrelid LIMIT 20)
            """, conn, tx))
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                var labels = $"{{datname=\"bookreader\",schemaname=\"{r.GetString(0)}\",relname=\"{r.GetString(1)}\",indexrelname=\"{r.GetString(2)}\"}}";
                series["pg_stat_user_indexes_idx_scan_total" + labels] = r.GetDouble(3);
            }
        }
        return series;
    }

    private static Task UntilUpAsync(TestCluster cluster, int node) => TestCluster.WaitForAsync<object>(async () =>
    {
        var m = await ScrapeAsync(cluster, node);
        return m["pg_up"] == 1 && m.ContainsKey("pg_database_size_bytes{datname=\"bookreader\"}") ? m : null;
    }, TimeSpan.FromSeconds(30), $"pg_up 1 on node {node}");

    /// <summary>The processes whose parent is <paramref name="pid"/> (a postmaster's backends and auxiliary processes).</summary>
    private static IEnumerable<int> ChildrenOf(int pid)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var child))
            {
                continue;
            }
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue; // exited meanwhile
            }
            // pid (comm) state ppid …: comm may contain spaces, so parse after its closing parenthesis.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (int.Parse(fields[1], CultureInfo.InvariantCulture) == pid)
            {
                yield return child;
            }
        }
    }

    [Fact]
    public async Task MetricsChecksAndDiagnosisReflectTheCluster()
    {
        await using var cluster = new TestCluster(subnet: 48);
        await cluster.UpAsync();

        var primary = await ScrapeAsync(cluster, 1, TimeSpan.FromSeconds(3));
        Assert.Equal(1, primary["pg_up"]);
        Assert.Equal(0, primary["pg_in_recovery"]);
        Assert.Equal(1, primary["pgwarden_node_is_primary"]);
        Assert.Equal(1, primary["pgwarden_timeline"]);
        Assert.True(primary["pg_database_size_bytes{datname=\"bookreader\"}"] > 1_000_000);
        Assert.Equal(100, primary["pg_settings_max_connections"]);
        Assert.Equal(1, primary["pg_replication_slots_active{slot_name=\"pg2_slot\",database=\"\"}"]);
        Assert.Equal(1, primary["pg_replication_slots_active{slot_name=\"pg3_slot\",database=\"\"}"]);
        Assert.Contains(primary.Keys, k => k.StartsWith("pg_stat_replication_pg_wal_lsn_diff{application_name=\"pg2\"", StringComparison.Ordinal));
        Assert.Contains(primary.Keys, k => k.StartsWith("pg_stat_user_tables_size_bytes{datname=\"bookreader\",schemaname=\"public\",relname=\"books\"", StringComparison.Ordinal));
        Assert.Contains(primary.Keys, k => k.StartsWith("pg_stat_activity_count{", StringComparison.Ordinal));
        Assert.True(primary.ContainsKey("pg_stat_archiver_failed_count_total"));
        Assert.Equal(1, primary["pg_replication_slots_slot_is_active{slot_name=\"pg2_slot\",slot_type=\"physical\"}"]);
        Assert.Equal(1, primary["pg_replication_slots_wal_status{slot_name=\"pg2_slot\",slot_type=\"physical\",wal_status=\"reserved\"}"]);
        Assert.True(primary["pg_stat_database_xact_commit_total{datname=\"bookreader\"}"] > 0);

        // The per-table and per-index series carry the values of the statistics views the collector
        // no longer reads (it calls the pg_stat_get_* functions behind them): same series, same values.
        await TestCluster.WaitForAsync<object>(async () =>
        {
            var scraped = await ScrapeAsync(cluster, 1);
            var expected = await ViewSeriesAsync(cluster);
            string[] families = ["pg_stat_user_tables_size_bytes", "pg_stat_user_tables_n_live_tup", "pg_stat_user_tables_n_dead_tup", "pg_stat_user_indexes_idx_scan_total"];
            var exported = scraped.Where(s => families.Contains(s.Key.Split('{')[0])).ToDictionary();
            return exported.Count == expected.Count && expected.All(e => exported.TryGetValue(e.Key, out var v) && v == e.Value) ? exported : null;
        }, TimeSpan.FromSeconds(20), "per-table and per-index series equal to pg_stat_user_tables and pg_stat_user_indexes");
        Assert.Contains(primary.Keys, k => k.StartsWith("pg_stat_user_tables_last_analyze_age_seconds{datname=\"bookreader\"", StringComparison.Ordinal));

        var replica = await ScrapeAsync(cluster, 2);
        Assert.Equal(1, replica["pg_in_recovery"]);
        Assert.True(replica["pg_database_size_bytes{datname=\"bookreader\"}"] > 1_000_000);
        Assert.DoesNotContain(replica.Keys, k => k.StartsWith("pg_replication_slots_active", StringComparison.Ordinal));

        // Every metric the shipped dashboard and alert rules use is exported.
        var exported = primary.Keys.Concat(replica.Keys).Select(k => k.Split('{')[0]).ToHashSet();
        foreach (var file in new[] { "alerts.yml", "grafana-dashboard.json" })
        {
            var text = File.ReadAllText(Path.Combine(PgWardenCli.RepoRoot, "deploy", "monitoring", file));
            var used = System.Text.RegularExpressions.Regex.Matches(text, @"\b(?:pg|pgwarden)_[a-z0-9_]+").Select(m => m.Value).ToHashSet();
            Assert.NotEmpty(used);
            Assert.All(used, name => Assert.True(exported.Contains(name), $"{file} uses {name}, which /metrics does not export"));
        }
        Assert.Equal(0, replica["pgwarden_node_is_primary"]);
        Assert.True(replica["pg_replication_lag_seconds"] >= 0);

        // A frozen PostgreSQL: the scrape still answers quickly, with pg_up 0 — whether the
        // postmaster alone is stopped (no connection can be opened) or the whole server, backends
        // included, after the collector's pool already holds connections (queries never answer).
        var pid = cluster.PostmasterPid(3)!.Value;
        TestCluster.Signal(pid, 19);
        try
        {
            var frozen = await ScrapeAsync(cluster, 3, TimeSpan.FromSeconds(7));
            Assert.Equal(0, frozen["pg_up"]);
            Assert.DoesNotContain(frozen.Keys, k => k.StartsWith("pg_database_size_bytes", StringComparison.Ordinal));
        }
        finally
        {
            TestCluster.Signal(pid, 18);
        }
        await UntilUpAsync(cluster, 3);
        var server = ChildrenOf(pid).Prepend(pid).ToArray();
        foreach (var p in server)
        {
            TestCluster.Signal(p, 19);
        }
        try
        {
            // The collector gives up on PostgreSQL after 3 s (ScrapeTimeout); HTTPS and a loaded CI machine
            // add to it (CI: 4.6 s). What matters is an answer well within Prometheus's default scrape_timeout (10 s).
            var frozen = await ScrapeAsync(cluster, 3, TimeSpan.FromSeconds(7));
            Assert.Equal(0, frozen["pg_up"]);
            Assert.DoesNotContain(frozen.Keys, k => k.StartsWith("pg_database_size_bytes", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var p in server)
            {
                TestCluster.Signal(p, 18);
            }
        }
        await UntilUpAsync(cluster, 3);

        var daily = await cluster.RunAsync("check", "daily", "--json");
        Assert.Equal(1, daily.ExitCode);
        var items = CliJson.Data(daily.Stdout).GetProperty("items").EnumerateArray()
            .ToDictionary(i => i.GetProperty("name").GetString()!, i => i.GetProperty("status").GetString());
        Assert.Equal("ok", items["replication pg2"]);
        Assert.Equal("ok", items["connections"]);
        Assert.Equal("warn", items["backups"]);
        Assert.Equal("ok", items["replication slots"]);

        // Replay paused on pg3: the diagnosis says so; its slot stays active (it still receives).
        await using (var pg3 = cluster.Superuser(3, "postgres"))
        {
            await pg3.OpenAsync();
            await Exec(pg3, "SELECT pg_wal_replay_pause()");
            try
            {
                await using (var app = cluster.ThroughPooler(1))
                {
                    await app.OpenAsync();
                    await Exec(app, "CREATE TABLE lag_probe AS SELECT g AS id FROM generate_series(1, 200000) g");
                }
                var diagnosis = await cluster.RunAsync("diagnose", "replication-lag", "--json");
                Assert.True(diagnosis.ExitCode == 0, diagnosis.ToString());
                var findings = CliJson.Data(diagnosis.Stdout).GetProperty("findings").EnumerateArray().ToList();
                Assert.Contains(findings, f => f.GetProperty("subject").GetString() == "pg3" && f.GetProperty("observation").GetString()!.Contains("paused"));
                Assert.DoesNotContain(findings, f => f.GetProperty("subject").GetString() == "pg2" && f.GetProperty("observation").GetString()!.Contains("paused"));
                var metrics = await ScrapeAsync(cluster, 3);
                Assert.Equal(1, metrics["pgwarden_replica_replay_paused"]);
            }
            finally
            {
                await Exec(pg3, "SELECT pg_wal_replay_resume()");
            }
        }

        var disk = await cluster.RunAsync("diagnose", "disk");
        Assert.True(disk.ExitCode == 0, disk.ToString());
        Assert.Contains("pg_wal", disk.Stdout);
        Assert.Contains("nothing by hand", disk.Stdout);

        // The leader's agent runs the daily check on a schedule and exports it.
        var scheduled = await TestCluster.WaitForAsync<object>(async () =>
        {
            var m = await ScrapeAsync(cluster, 1);
            return m.ContainsKey("pgwarden_check_status{period=\"daily\",item=\"connections\"}") ? m : null;
        }, TimeSpan.FromSeconds(40), "the scheduled daily check's metrics");
        var checks = (Dictionary<string, double>)scheduled;
        Assert.Equal(0, checks["pgwarden_check_status{period=\"daily\",item=\"connections\"}"]);
        Assert.Equal(1, checks["pgwarden_check_status{period=\"daily\",item=\"backups\"}"]);

        var monthly = await cluster.RunAsync("check", "monthly", "--json");
        Assert.True(monthly.ExitCode is 0 or 1, monthly.ToString());
        Assert.True(File.Exists(Path.Combine(cluster.Dir, "state", "size-history.log")));
    }
}
