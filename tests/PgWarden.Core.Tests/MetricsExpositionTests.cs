using System.Text;
using System.Text.RegularExpressions;
using PgWarden.Monitoring.Metrics;
using Prometheus;

namespace PgWarden.Core.Tests;

/// <summary>
/// Issue 13 item 9: PostgreSQL's cumulative statistics are exported as Prometheus counters (<c>_total</c>,
/// <c># TYPE … counter</c>), slot metrics carry postgres_exporter's labels (replication_slots collector:
/// slot_name + database, slot_name + slot_type), checked on the exposition text the agent serves.
/// </summary>
public class MetricsExpositionTests
{
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly PostgresMetrics _m;

    public MetricsExpositionTests() => _m = new PostgresMetrics(_registry);

    private async Task<string> ScrapeAsync(Action<ScrapeSamples> fill)
    {
        var samples = new ScrapeSamples();
        fill(samples);
        samples.Apply();
        foreach (var family in _m.Labelled)
        {
            family.Sweep();
        }
        using var stream = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private void FillAll(ScrapeSamples s, double commits)
    {
        s.Set(_m.Commits, commits, "bookreader");
        s.Set(_m.Rollbacks, 2, "bookreader");
        s.Set(_m.BlocksRead, 3, "bookreader");
        s.Set(_m.BlocksHit, 4, "bookreader");
        s.Set(_m.Deadlocks, 0, "bookreader");
        s.Set(_m.TempBytes, 8192, "bookreader");
        s.Set(_m.TuplesReturned, 10, "bookreader");
        s.Set(_m.TuplesFetched, 11, "bookreader");
        s.Set(_m.TuplesInserted, 12, "bookreader");
        s.Set(_m.TuplesUpdated, 13, "bookreader");
        s.Set(_m.TuplesDeleted, 14, "bookreader");
        s.Set(_m.IndexScans, 5, "bookreader", "public", "books", "books_pkey");
        s.Set(_m.ArchivedCount, 7);
        s.Set(_m.ArchiveFailedCount, 1);
        s.Set(_m.Backends, 3, "bookreader");
        s.Set(_m.TableSize, 65536, "bookreader", "public", "books");
        s.Set(_m.SlotActive, 1, "pg2_slot", "");
        s.Set(_m.SlotRetained, 1024, "pg2_slot", "");
        s.Set(_m.SlotIsActive, 1, "pg2_slot", "physical");
        s.Set(_m.SlotWalStatus, 1, "pg2_slot", "physical", "reserved");
        s.Set(_m.SlotSafeWal, 4096, "pg2_slot", "physical");
    }

    [Theory]
    [InlineData("pg_stat_database_xact_commit_total")]
    [InlineData("pg_stat_database_xact_rollback_total")]
    [InlineData("pg_stat_database_blks_read_total")]
    [InlineData("pg_stat_database_blks_hit_total")]
    [InlineData("pg_stat_database_deadlocks_total")]
    [InlineData("pg_stat_database_temp_bytes_total")]
    [InlineData("pg_stat_database_tup_returned_total")]
    [InlineData("pg_stat_database_tup_fetched_total")]
    [InlineData("pg_stat_database_tup_inserted_total")]
    [InlineData("pg_stat_database_tup_updated_total")]
    [InlineData("pg_stat_database_tup_deleted_total")]
    [InlineData("pg_stat_user_indexes_idx_scan_total")]
    [InlineData("pg_stat_archiver_archived_count_total")]
    [InlineData("pg_stat_archiver_failed_count_total")]
    public async Task CumulativeStatisticsAreCounters(string name)
    {
        var text = await ScrapeAsync(s => FillAll(s, 42));
        Assert.Contains($"# TYPE {name} counter\n", text);
    }

    [Fact]
    public async Task EveryCounterEndsInTotalAndEveryTotalIsACounter()
    {
        var text = await ScrapeAsync(s => FillAll(s, 42));
        var types = Regex.Matches(text, @"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

        Assert.NotEmpty(types);
        foreach (var (name, type) in types)
        {
            Assert.True(name.EndsWith("_total", StringComparison.Ordinal) == (type == "counter"), $"{name} is a {type}");
        }
    }

    [Fact]
    public async Task CounterValuesAreLabelledAsPostgresExporterDoes()
    {
        var text = await ScrapeAsync(s => FillAll(s, 42));

        Assert.Contains("pg_stat_database_xact_commit_total{datname=\"bookreader\"} 42\n", text);
        Assert.Contains("pg_stat_user_indexes_idx_scan_total{datname=\"bookreader\",schemaname=\"public\",relname=\"books\",indexrelname=\"books_pkey\"} 5\n", text);
        Assert.Contains("pg_stat_archiver_archived_count_total 7\n", text);
        Assert.Contains("pg_stat_user_tables_size_bytes{datname=\"bookreader\",schemaname=\"public\",relname=\"books\"} 65536\n", text);
        Assert.Contains("# TYPE pg_stat_database_numbackends gauge\n", text);
    }

    [Fact]
    public async Task SlotMetricsCarryPostgresExporterLabels()
    {
        var text = await ScrapeAsync(s => FillAll(s, 42));

        Assert.Contains("pg_replication_slots_active{slot_name=\"pg2_slot\",database=\"\"} 1\n", text);
        Assert.Contains("pg_replication_slots_pg_wal_lsn_diff{slot_name=\"pg2_slot\",database=\"\"} 1024\n", text);
        Assert.Contains("pg_replication_slots_slot_is_active{slot_name=\"pg2_slot\",slot_type=\"physical\"} 1\n", text);
        Assert.Contains("pg_replication_slots_wal_status{slot_name=\"pg2_slot\",slot_type=\"physical\",wal_status=\"reserved\"} 1\n", text);
        Assert.Contains("pg_replication_slots_safe_wal_size_bytes{slot_name=\"pg2_slot\",slot_type=\"physical\"} 4096\n", text);
        Assert.Contains("# TYPE pg_replication_slots_pg_wal_lsn_diff gauge\n", text);
    }

    [Fact]
    public async Task OldNamesAreGone()
    {
        var text = await ScrapeAsync(s => FillAll(s, 42));
        foreach (var old in new[] { "pg_stat_database_xact_commit{", "pg_stat_archiver_archived_count ", "pg_table_size_bytes", "pg_stat_user_indexes_idx_scan{" })
        {
            Assert.DoesNotContain(old, text);
        }
    }

    [Fact]
    public async Task AStatisticsResetShowsAsACounterResetNotAStuckValue()
    {
        await ScrapeAsync(s => FillAll(s, 42));
        var text = await ScrapeAsync(s => { FillAll(s, 5); s.Set(_m.ArchivedCount, 2); });

        Assert.Contains("pg_stat_database_xact_commit_total{datname=\"bookreader\"} 5\n", text);
        Assert.Contains("pg_stat_archiver_archived_count_total 2\n", text);
    }

    [Fact]
    public async Task ASeriesNotScrapedAgainIsRemoved()
    {
        await ScrapeAsync(s => { FillAll(s, 42); s.Set(_m.Commits, 9, "gone"); });
        var text = await ScrapeAsync(s => FillAll(s, 43));

        Assert.DoesNotContain("datname=\"gone\"", text);
        Assert.Contains("pg_stat_database_xact_commit_total{datname=\"bookreader\"} 43\n", text);
    }
}
