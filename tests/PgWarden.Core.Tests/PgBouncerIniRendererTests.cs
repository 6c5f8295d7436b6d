using PgWarden.Core.Config;
using PgWarden.Core.Rendering;
using PgWarden.Core.Security;

namespace PgWarden.Core.Tests;

public class PgBouncerIniRendererTests
{
    private readonly ClusterConfig _cluster = TestClusters.Demo();

    private string Render(string? primary, params string[] replicas) => RenderFor(_cluster, primary, replicas);

    private static string RenderFor(ClusterConfig cluster, string? primary, params string[] replicas) =>
        PgBouncerIniRenderer.Render(cluster, cluster.Poolers[0],
            primary is null ? null : cluster.Node(primary), [.. replicas.Select(cluster.Node)]);

    /// <summary>The non-comment lines of one section, name to value.</summary>
    private static Dictionary<string, string> Section(string ini, string section)
    {
        var result = new Dictionary<string, string>();
        var current = "";
        foreach (var line in ini.Split('\n'))
        {
            if (line.StartsWith('['))
            {
                current = line;
                continue;
            }
            if (current != $"[{section}]" || line.Length == 0 || line.StartsWith(';') || line.StartsWith('#'))
            {
                continue;
            }
            var eq = line.IndexOf(" = ", StringComparison.Ordinal);
            Assert.True(eq > 0, $"not a setting line: {line}");
            result.Add(line[..eq], line[(eq + 3)..]);
        }
        return result;
    }

    [Fact]
    public void RunbookPoolSettingsWithScram()
    {
        var s = Section(Render("pg1", "pg2", "pg3"), "pgbouncer");

        Assert.Equal("scram-sha-256", s["auth_type"]);
        Assert.Equal("transaction", s["pool_mode"]);
        Assert.Equal("1000", s["max_client_conn"]);
        Assert.Equal("50", s["default_pool_size"]);
        Assert.Equal("10", s["min_pool_size"]);
        Assert.Equal("10", s["reserve_pool_size"]);
        Assert.Equal("3", s["reserve_pool_timeout"]);
        Assert.Equal("100", s["max_db_connections"]);
        Assert.Equal("100", s["max_user_connections"]);
        Assert.Equal("600", s["server_idle_timeout"]);
        Assert.Equal("3600", s["server_lifetime"]);
        Assert.Equal("15", s["server_connect_timeout"]);
        Assert.Equal("0", s["query_timeout"]);
        Assert.Equal("120", s["query_wait_timeout"]);
        Assert.Equal("0", s["client_idle_timeout"]);
        Assert.Equal("extra_float_digits", s["ignore_startup_parameters"]);
        Assert.Equal("127.0.0.1", s["listen_addr"]);
        Assert.Equal("6432", s["listen_port"]);
        Assert.Equal("/tmp/base/poolers/pgb1/userlist.txt", s["auth_file"]);
        Assert.Equal("/tmp/base/poolers/pgb1/run", s["unix_socket_dir"]);
        Assert.Equal("pgbouncer_admin", s["admin_users"]);
    }

    [Fact]
    public void WritesGoToThePrimaryAndReadsToOneReplicaPerPooler()
    {
        var db = Section(Render("pg1", "pg2", "pg3"), "databases");
        var second = Section(PgBouncerIniRenderer.Render(_cluster, _cluster.Poolers[1], _cluster.Node("pg1"), [_cluster.Node("pg3"), _cluster.Node("pg2")]), "databases");

        Assert.Equal(2, db.Count);
        Assert.Equal("host=127.0.0.1 port=5532 dbname=bookreader", db["bookreader"]);
        // One host per entry (verify-full checks that name; PgBouncer 1.18 checks a host list as one name):
        // the first pooler reads from the first replica, the second from the second, whatever order the DCS gave.
        Assert.Equal("host=127.0.0.2 port=5532 dbname=bookreader", db["bookreader_ro"]);
        Assert.Equal("host=127.0.0.3 port=5532 dbname=bookreader", second["bookreader_ro"]);
        Assert.Equal("bookreader_ro", PgBouncerIniRenderer.ReadOnlyAlias(_cluster));
    }

    [Fact]
    public void NoDatabaseEntryNamesMoreThanOneHost()
    {
        foreach (var pooler in _cluster.Poolers)
        {
            var ini = PgBouncerIniRenderer.Render(_cluster, pooler, _cluster.Node("pg1"), [_cluster.Node("pg2"), _cluster.Node("pg3")]);
            Assert.All(Section(ini, "databases").Values, v => Assert.DoesNotContain(',', v));
        }
    }

    [Fact]
    public void WritesFollowAPromotedReplica()
    {
        var db = Section(Render("pg3", "pg2"), "databases");

        Assert.Equal("host=127.0.0.3 port=5532 dbname=bookreader", db["bookreader"]);
        Assert.Equal("host=127.0.0.2 port=5532 dbname=bookreader", db["bookreader_ro"]);
    }

    [Fact]
    public void ReadsFallBackToThePrimaryWithoutReplicas()
    {
        var db = Section(Render("pg2"), "databases");

        Assert.Equal("host=127.0.0.2 port=5532 dbname=bookreader", db["bookreader"]);
        Assert.Equal("host=127.0.0.2 port=5532 dbname=bookreader", db["bookreader_ro"]);
    }

    [Fact]
    public void NoPrimaryMeansNoWriteRoute()
    {
        var ini = Render(null, "pg2");
        var db = Section(ini, "databases");

        Assert.False(db.ContainsKey("bookreader"));
        Assert.Equal("host=127.0.0.2 port=5532 dbname=bookreader", db["bookreader_ro"]);
        Assert.Empty(Section(Render(null), "databases"));
    }

    [Fact]
    public void NoInlineCommentsOnSettingLines()
    {
        // PgBouncer does not strip "; ..." after a value: the comment would become part of the connect string.
        foreach (var ini in new[] { Render("pg1", "pg2", "pg3"), Render("pg1"), Render(null) })
        {
            var settingLines = ini.Split('\n').Where(l => l.Length > 0 && !l.StartsWith(';') && !l.StartsWith('['));
            Assert.All(settingLines, l => Assert.DoesNotContain(';', l));
            Assert.All(settingLines, l => Assert.DoesNotContain('#', l));
        }
    }

    [Fact]
    public void PoolerSettingOverridesApply()
    {
        var cluster = TestClusters.Parse(TestClusters.ThreeNodes.Replace(
            "  - { name: pgb1, address: 127.0.0.1, port: 6432 }",
            "  - { name: pgb1, address: 127.0.0.1, port: 6432, settings: { default_pool_size: 20, pool_mode: session, stats_period: 30 } }"));
        var ini = RenderFor(cluster, "pg1", "pg2");
        var s = Section(ini, "pgbouncer");

        Assert.Equal("20", s["default_pool_size"]);
        Assert.Equal("session", s["pool_mode"]);
        Assert.Equal("30", s["stats_period"]);
        Assert.Equal("1000", s["max_client_conn"]);
        Assert.Single(ini.Split('\n'), l => l.StartsWith("default_pool_size ", StringComparison.Ordinal));
        Assert.Single(ini.Split('\n'), l => l.StartsWith("stats_period ", StringComparison.Ordinal));
    }

    [Fact]
    public void UserListHoldsQuotedScramSecrets()
    {
        var app = ScramSecret.ForRole("bookreader_app", "app-password");
        var admin = ScramSecret.ForRole("pgbouncer_admin", "admin-password");

        var text = PgBouncerIniRenderer.RenderUserList([new("bookreader_app", app), new("pgbouncer_admin", admin)]);

        Assert.Equal($"\"bookreader_app\" \"{app}\"{Environment.NewLine}\"pgbouncer_admin\" \"{admin}\"{Environment.NewLine}", text);
        Assert.DoesNotContain("password", text);
    }

    [Theory]
    [InlineData("plaintext-password")]
    [InlineData("md5d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("scram-sha-256$4096:abc$def:ghi")]
    public void UserListRejectsAnythingButScram(string secret)
    {
        var e = Assert.Throws<ArgumentException>(() => PgBouncerIniRenderer.RenderUserList([new("bookreader_app", secret)]));
        Assert.Equal("the userlist entry for bookreader_app is not a SCRAM secret", e.Message);
    }
}
