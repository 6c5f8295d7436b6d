using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>
/// One two-node cluster (subnet 150) with a filesystem repository holding one logical and one physical backup,
/// a table with an index (<c>jsont.items</c>) and an empty database <c>jsontest</c> for idle sessions: shared by every
/// `--json` and progress test so they cost one `up`.
/// </summary>
public sealed class JsonOutputFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new(subnet: 150, nodes: 2, extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  archive_timeout: 60\n");

    public string LogicalId { get; private set; } = "";

    public string PhysicalId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Cluster.UpAsync();
        await using (var conn = await OpenAsync())
        {
            await Exec(conn, """
                CREATE SCHEMA jsont;
                CREATE TABLE jsont.items (id int PRIMARY KEY, code int);
                INSERT INTO jsont.items SELECT g, g % 10 FROM generate_series(1, 1000) g;
                CREATE INDEX items_code ON jsont.items (code);
                """);
            await Exec(conn, "CREATE DATABASE jsontest");
        }
        // The backup commands find the primary through the agents (3 s per call): wait until every agent answers.
        await ClusterFacts.WaitHealthyAsync(Cluster, TimeSpan.FromSeconds(60));
        LogicalId = await BackupAsync("logical");
        PhysicalId = await BackupAsync("physical");
    }

    private async Task<string> BackupAsync(string type)
    {
        var result = await Cluster.RunAsync("backup", type, "--json");
        Assert.True(result.ExitCode == 0, result.ToString() + Cluster.Logs());
        return CliJson.Data(result.Stdout).GetProperty("backup").GetProperty("id").GetString()!;
    }

    public async Task<NpgsqlConnection> OpenAsync(string database = "bookreader")
    {
        var conn = Cluster.Superuser(1, database);
        await conn.OpenAsync();
        return conn;
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
