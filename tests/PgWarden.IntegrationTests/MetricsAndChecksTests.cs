using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PgWarden.IntegrationTests.Infrastructure;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>/metrics parsed as Prometheus text, a scrape of a frozen PostgreSQL, the checklist and diagnosis on a real cluster.</summary>
public sealed class MetricsAndChecksTests
{
    private static async Task<Dictionary<string, double>> ScrapeAsync(TestCluster cluster, int node, TimeSpan? limit = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        var text = await http.GetStringAsync($"http://{cluster.Address(node)}:{TestCluster.ApiPort}/metrics");
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
        Assert.Equal(1, primary["pg_replication_slots_active{slot_name=\"pg2_slot\"}"]);
        Assert.Equal(1, primary["pg_replication_slots_active{slot_name=\"pg3_slot\"}"]);
        Assert.Contains(primary.Keys, k => k.StartsWith("pg_stat_replication_pg_wal_lsn_diff{application_name=\"pg2\"", StringComparison.Ordinal));
        Assert.Contains(primary.Keys, k => k.StartsWith("pg_table_size_bytes{datname=\"bookreader\",schemaname=\"public\",relname=\"books\"", StringComparison.Ordinal));
        Assert.Contains(primary.Keys, k => k.StartsWith("pg_stat_activity_count{", StringComparison.Ordinal));
        Assert.True(primary.ContainsKey("pg_stat_archiver_failed_count"));

        var replica = await ScrapeAsync(cluster, 2);
        Assert.Equal(1, replica["pg_in_recovery"]);

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

        // A frozen PostgreSQL: the scrape still answers quickly, with pg_up 0.
        var pid = cluster.PostmasterPid(3)!.Value;
        TestCluster.Signal(pid, 19);
        try
        {
            var frozen = await ScrapeAsync(cluster, 3, TimeSpan.FromSeconds(5));
            Assert.Equal(0, frozen["pg_up"]);
            Assert.DoesNotContain(frozen.Keys, k => k.StartsWith("pg_database_size_bytes", StringComparison.Ordinal));
        }
        finally
        {
            TestCluster.Signal(pid, 18);
        }

        var daily = await cluster.RunAsync("check", "daily", "--json");
        Assert.Equal(1, daily.ExitCode);
        var items = JsonDocument.Parse(daily.Stdout).RootElement.GetProperty("items").EnumerateArray()
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
                var findings = JsonDocument.Parse(diagnosis.Stdout).RootElement.GetProperty("findings").EnumerateArray().ToList();
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
