using System.Net;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>Schema migration, security settings, the agent API and rendered files, on one running cluster.</summary>
public sealed class RunningClusterTests(RunningClusterFixture fixture) : IClassFixture<RunningClusterFixture>
{
    private TestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task MigrateIsIdempotentAndRebuildsAnInvalidIndex()
    {
        var second = await Cluster.RunAsync("migrate");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("0 tables created, 0 indexes built, 0 invalid indexes rebuilt, 14 indexes already valid", second.Stdout);

        await using (var conn = Cluster.Superuser(1))
        {
            await conn.OpenAsync();
            // What an interrupted CREATE INDEX CONCURRENTLY leaves behind: an index marked invalid.
            await Exec(conn, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_books_status'::regclass");
            Assert.False(await Scalar<bool>(conn, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_books_status'::regclass"));
        }
        var repair = await Cluster.RunAsync("migrate");
        Assert.True(repair.ExitCode == 0, repair.ToString());
        Assert.Contains("index idx_books_status is INVALID", repair.Stdout);
        Assert.Contains("1 invalid indexes rebuilt, 13 indexes already valid", repair.Stdout);

        await using (var conn = Cluster.Superuser(1))
        {
            await conn.OpenAsync();
            Assert.True(await Scalar<bool>(conn, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_books_status'::regclass"));
            Assert.Equal(0L, await Scalar<long>(conn, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid"));
            Assert.Equal(1L, await Scalar<long>(conn, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"));
            var indexes = await Scalar<long>(conn, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx\\_%'");
            Assert.Equal(14L, indexes);
            Assert.Equal("bookreader_app", await Scalar<string>(conn, "SELECT tableowner::text FROM pg_tables WHERE tablename = 'books'"));
            var fks = await Scalar<long>(conn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace");
            Assert.True(fks >= 7, $"expected the schema's foreign keys, found {fks}");
        }
    }

    [Fact]
    public async Task SecretsStayOutOfConninfoAndFilesArePrivate()
    {
        await using (var replica = Cluster.Superuser(2, "postgres"))
        {
            await replica.OpenAsync();
            var conninfo = await Scalar<string>(replica, "SHOW primary_conninfo");
            Assert.Contains("passfile=", conninfo);
            Assert.DoesNotContain("password", conninfo.Replace("passfile", ""), StringComparison.OrdinalIgnoreCase);
            var receiver = await Scalar<string>(replica, "SELECT conninfo FROM pg_stat_wal_receiver");
            Assert.DoesNotContain(Cluster.ReadSecrets().Superuser, receiver);
            Assert.DoesNotContain("password=", receiver);
        }
        await using (var primary = Cluster.Superuser(1, "postgres"))
        {
            await primary.OpenAsync();
            Assert.Equal("scram-sha-256", await Scalar<string>(primary, "SHOW password_encryption"));
            Assert.Equal(0L, await Scalar<long>(primary, "SELECT count(*) FROM pg_authid WHERE rolcanlogin AND rolpassword NOT LIKE 'SCRAM-SHA-256$%'"));
            Assert.Equal(0L, await Scalar<long>(primary, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method IN ('md5', 'trust', 'password')"));
            Assert.Equal(0L, await Scalar<long>(primary, "SELECT count(*) FROM pg_hba_file_rules WHERE 'all' = ANY(database) AND 'all' = ANY(user_name)"));
        }
        foreach (var file in new[] { "secrets.yaml", "app-connection.env", "nodes/pg2/replication.pgpass", "poolers/pgb1/userlist.txt" })
        {
            var mode = File.GetUnixFileMode(Path.Combine(Cluster.Dir, file));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        }
        var userlist = File.ReadAllText(Path.Combine(Cluster.Dir, "poolers/pgb1/userlist.txt"));
        Assert.DoesNotContain(Cluster.ReadSecrets().App, userlist);
        Assert.Contains("SCRAM-SHA-256$", userlist);

        // Nothing the tool printed or logged contains a password.
        var logs = string.Join('\n', Directory.GetFiles(Path.Combine(Cluster.Dir, "logs")).Select(File.ReadAllText));
        foreach (var secret in new[] { Cluster.ReadSecrets().Superuser, Cluster.ReadSecrets().App })
        {
            Assert.DoesNotContain(secret, logs);
        }
    }

    [Fact]
    public async Task AgentApiReportsRoleAndHealth()
    {
        using var http = Cluster.ApiHttp();
        var health = await http.GetAsync($"{Cluster.ApiUrl(2)}/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var primary = await Cluster.NodeApiAsync(1);
        Assert.Equal("primary", primary.GetProperty("role").GetString());
        Assert.Equal(2, primary.GetProperty("replicas").GetArrayLength());
        Assert.StartsWith("0/", primary.GetProperty("current_lsn").GetString());
        var replica = await Cluster.NodeApiAsync(3);
        Assert.Equal("replica", replica.GetProperty("role").GetString());
        Assert.Equal("pg1", replica.GetProperty("upstream").GetString());
        Assert.Equal(1, replica.GetProperty("timeline").GetInt64());
    }

    [Fact]
    public async Task ConfigRenderPrintsExactlyTheFilesTheNodeRuns()
    {
        var render = await Cluster.RunAsync("config", "render", "--node", "pg2");
        Assert.True(render.ExitCode == 0, render.ToString());
        var actual = File.ReadAllText(Path.Combine(Cluster.DataDir(2), "postgresql.conf"));
        Assert.Contains(actual, render.Stdout);
        var hba = File.ReadAllText(Path.Combine(Cluster.DataDir(2), "pg_hba.conf"));
        Assert.Contains(hba, render.Stdout);

        var pooler = await Cluster.RunAsync("config", "render", "--pooler", "pgb1");
        Assert.Contains(File.ReadAllText(Path.Combine(Cluster.Dir, "poolers/pgb1/pgbouncer.ini")), pooler.Stdout);
    }

    [Fact]
    public async Task DirectConnectionsAreLeastPrivilege()
    {
        // The app role may not reach the postgres database; replication role may not run SQL.
        var secrets = Cluster.ReadSecrets();
        await using var wrongDb = new NpgsqlConnection($"Host={Cluster.Address(1)};Port={TestCluster.PgPort};Username=bookreader_app;Password={secrets.App};Database=postgres;Timeout=5;Pooling=false");
        var e = await Assert.ThrowsAsync<PostgresException>(() => wrongDb.OpenAsync());
        Assert.Equal("28000", e.SqlState);
    }
}
