using PgWarden.Core.Rendering;

namespace PgWarden.Core.Tests;

public class PostgresConfRendererTests
{
    private readonly Config.ClusterConfig _cluster = TestClusters.Demo();

    /// <summary>The setting lines of a rendered file, name to value, with trailing "# why" comments removed.</summary>
    private static Dictionary<string, string> Settings(string conf)
    {
        var result = new Dictionary<string, string>();
        foreach (var line in conf.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var eq = line.IndexOf(" = ", StringComparison.Ordinal);
            Assert.True(eq > 0, $"not a setting line: {line}");
            var value = line[(eq + 3)..];
            var comment = value.IndexOf("    # ", StringComparison.Ordinal);
            result.Add(line[..eq], comment < 0 ? value : value[..comment]);
        }
        return result;
    }

    private string Render(string node, string? upstream) =>
        PostgresConfRenderer.Render(TestClusters.Context(_cluster, node, upstream));

    [Fact]
    public void ReplicaFollowsItsUpstreamThroughThePassfile()
    {
        var conf = Render("pg2", "pg1");
        var s = Settings(conf);

        Assert.Equal(
            "'host=''127.0.0.1'' port=5532 user=replicator passfile=''/tmp/base/nodes/pg2/replication.pgpass'' " +
            "application_name=pg2 sslmode=verify-full sslrootcert=''/tmp/base/tls/ca.crt'' connect_timeout=5'",
            s["primary_conninfo"]);
        Assert.DoesNotContain("password", s["primary_conninfo"], StringComparison.OrdinalIgnoreCase);
        Assert.Equal("pg2_slot", s["primary_slot_name"]);
        Assert.Equal("on", s["hot_standby"]);
        Assert.Equal("on", s["hot_standby_feedback"]);
        Assert.Equal("on", s["wal_log_hints"]);
        Assert.DoesNotContain("promote_trigger_file", conf);
    }

    [Fact]
    public void PrimaryHasNoUpstream()
    {
        var s = Settings(Render("pg1", null));

        Assert.False(s.ContainsKey("primary_conninfo"));
        Assert.False(s.ContainsKey("primary_slot_name"));
        Assert.Equal("on", s["hot_standby_feedback"]);
    }

    [Fact]
    public void ConnectionSettingsAreQuotedForPostgres()
    {
        var s = Settings(Render("pg2", "pg1"));

        Assert.Equal("'127.0.0.2'", s["listen_addresses"]);
        Assert.Equal("5532", s["port"]);
        Assert.Equal("'/tmp/base/nodes/pg2/run'", s["unix_socket_directories"]);
        Assert.Equal("'demo-pg2'", s["cluster_name"]);
        Assert.Equal("3", s["superuser_reserved_connections"]);
        Assert.Equal("'scram-sha-256'", s["password_encryption"]);
    }

    [Fact]
    public void RunbookSettingsArePresent()
    {
        var s = Settings(Render("pg1", null));
        var expected = new Dictionary<string, string>
        {
            // Memory, checkpoints and planner for the runbook host.
            ["max_connections"] = "200", ["shared_buffers"] = "4GB", ["effective_cache_size"] = "12GB",
            ["work_mem"] = "10485kB", ["maintenance_work_mem"] = "1GB", ["wal_buffers"] = "16MB",
            ["checkpoint_timeout"] = "15min", ["checkpoint_completion_target"] = "0.9",
            ["max_wal_size"] = "4GB", ["min_wal_size"] = "1GB",
            ["random_page_cost"] = "1.1", ["effective_io_concurrency"] = "200", ["default_statistics_target"] = "100",
            // Replication.
            ["wal_level"] = "replica", ["max_wal_senders"] = "10", ["max_replication_slots"] = "10", ["wal_keep_size"] = "2GB",
            // Logging.
            ["log_destination"] = "stderr", ["logging_collector"] = "on", ["log_directory"] = "log",
            ["log_filename"] = "'postgresql-%Y-%m-%d_%H%M%S.log'", ["log_truncate_on_rotation"] = "off",
            ["log_rotation_age"] = "1d", ["log_rotation_size"] = "100MB",
            ["log_line_prefix"] = "'%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '",
            ["log_min_duration_statement"] = "1000", ["log_checkpoints"] = "on", ["log_connections"] = "on",
            ["log_disconnections"] = "on", ["log_lock_waits"] = "on", ["log_statement"] = "ddl", ["log_temp_files"] = "0",
            ["shared_preload_libraries"] = "pg_stat_statements",
            // Autovacuum.
            ["autovacuum"] = "on", ["autovacuum_max_workers"] = "3", ["autovacuum_naptime"] = "30s",
            ["autovacuum_vacuum_threshold"] = "50", ["autovacuum_analyze_threshold"] = "50",
            ["autovacuum_vacuum_scale_factor"] = "0.1", ["autovacuum_analyze_scale_factor"] = "0.05",
        };

        Assert.All(expected, kv => Assert.Equal(kv.Value, s.GetValueOrDefault(kv.Key)));
    }

    [Fact]
    public void EverySettingAppearsOnce()
    {
        var lines = Render("pg2", "pg1").Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'));
        var names = lines.Select(l => l[..l.IndexOf(" = ", StringComparison.Ordinal)]).ToList();

        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void ParameterOverrideReplacesTheComputedValue()
    {
        var cluster = TestClusters.Parse(TestClusters.ThreeNodes.Replace(
            "  max_connections: 200\n",
            "  max_connections: 200\n  parameters:\n    work_mem: 64MB\n    log_statement: mod\n    statement_timeout: 30s\n"));
        var conf = PostgresConfRenderer.Render(TestClusters.Context(cluster, "pg1", null));
        var s = Settings(conf);

        Assert.Equal("64MB", s["work_mem"]);
        Assert.Contains("work_mem = 64MB    # overridden in demo config (computed: 10485kB)", conf);
        Assert.Equal("mod", s["log_statement"]);
        Assert.Equal("30s", s["statement_timeout"]);
        Assert.Single(conf.Split('\n'), l => l.StartsWith("work_mem ", StringComparison.Ordinal));
        Assert.Single(conf.Split('\n'), l => l.StartsWith("statement_timeout ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("on", "on")]
    [InlineData("4GB", "4GB")]
    [InlineData("0.05", "0.05")]
    [InlineData("-1", "-1")]
    [InlineData("127.0.0.2", "'127.0.0.2'")]
    [InlineData("*", "'*'")]
    [InlineData("it's", "'it''s'")]
    [InlineData(@"C:\dir", @"'C:\\dir'")]
    [InlineData("", "''")]
    public void PgQuotesWhatIsNotBare(string value, string expected)
    {
        Assert.Equal(expected, ConfValue.Pg(value));
    }

    [Theory]
    [InlineData("5432", "5432")]
    [InlineData("replicator", "replicator")]
    [InlineData("10.0.0.1", "'10.0.0.1'")]
    [InlineData("a=b", "'a=b'")]
    [InlineData("/path with space", "'/path with space'")]
    [InlineData("it's", @"'it\'s'")]
    public void ConninfoQuotesWithBackslashes(string value, string expected)
    {
        Assert.Equal(expected, ConfValue.Conninfo(value));
    }
}
