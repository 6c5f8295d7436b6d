using System.Text.Json;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// The foundation's end-to-end path on real PostgreSQL and PgBouncer: up → 1 primary + 2 streaming
/// replicas with active slots → a row written through PgBouncer reaches both replicas and the
/// read-only route → a SIGKILLed replica is restarted by its agent and catches up → up again is
/// refused → down → up → the data is still there.
/// </summary>
public sealed class ClusterLifecycleTests
{
    [Fact]
    public async Task UpReplicatesRestartsCrashedReplicaAndKeepsDataAcrossDownUp()
    {
        await using var cluster = new TestCluster(subnet: 41);
        await cluster.UpAsync();

        // Right after `up`, on a loaded machine, an agent's API can miss status's 3 s probe limit once (CI: "degraded").
        var status = await ClusterFacts.WaitHealthyAsync(cluster, TimeSpan.FromSeconds(30));
        Assert.Equal("healthy", status.GetProperty("health").GetString());
        Assert.Equal("pg1", status.GetProperty("primary").GetString());
        var nodes = status.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Single(nodes, n => n.GetProperty("role").GetString() == "primary");
        var replicas = nodes.Where(n => n.GetProperty("role").GetString() == "replica").ToList();
        Assert.Equal(2, replicas.Count);
        Assert.All(replicas, r =>
        {
            Assert.Equal("streaming", r.GetProperty("wal_receiver").GetString());
            Assert.True(r.GetProperty("slot_active").GetBoolean());
            Assert.Equal($"{r.GetProperty("name").GetString()}_slot", r.GetProperty("slot_name").GetString());
        });
        Assert.Equal(0, (await cluster.RunAsync("status")).ExitCode);

        // A write through PgBouncer 6432 reaches both replicas and the read-only route.
        await using (var app = cluster.ThroughPooler(1))
        {
            await app.OpenAsync();
            await Exec(app, "CREATE TABLE lifecycle_marker (id int PRIMARY KEY, note text)");
            await Exec(app, "INSERT INTO lifecycle_marker VALUES (1, 'written through pgb1')");
        }
        foreach (var replica in new[] { 2, 3 })
        {
            await WaitForRowAsync(cluster, replica, 1);
        }
        await using (var ro = cluster.ThroughPooler(2, "bookreader_ro"))
        {
            await ro.OpenAsync();
            Assert.True(await Scalar<bool>(ro, "SELECT pg_is_in_recovery()"), "bookreader_ro must be served by a replica");
            Assert.Equal(1L, await Scalar<long>(ro, "SELECT count(*) FROM lifecycle_marker WHERE id = 1"));
        }

        // SIGKILL a replica's postmaster: its agent restarts it and it catches up.
        var oldPid = cluster.PostmasterPid(3)!.Value;
        TestCluster.Signal(oldPid, 9);
        await using (var app = cluster.ThroughPooler(1))
        {
            await app.OpenAsync();
            await Exec(app, "INSERT INTO lifecycle_marker VALUES (2, 'written while pg3 was down')");
        }
        await TestCluster.WaitForAsync(async () =>
        {
            var pid = cluster.PostmasterPid(3);
            var node = await cluster.NodeApiAsync(3);
            return pid is { } p && p != oldPid && node.GetProperty("wal_receiver").GetString() == "streaming" ? (object)true : null;
        }, TimeSpan.FromSeconds(60), "pg3 to be restarted by its agent and stream again");
        await WaitForRowAsync(cluster, 3, 2);

        // up on a running cluster: reported, nothing done.
        var again = await cluster.RunAsync("up");
        Assert.Equal(4, again.ExitCode);
        Assert.Contains("already up", again.Stderr);

        var down = await cluster.RunAsync("down");
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.DoesNotContain(cluster.RecordedPids(), TestCluster.IsRunning);
        var stopped = await cluster.RunAsync("status");
        Assert.Equal(8, stopped.ExitCode);

        await cluster.UpAsync();
        await using (var app = cluster.ThroughPooler(1))
        {
            await app.OpenAsync();
            Assert.Equal(2L, await Scalar<long>(app, "SELECT count(*) FROM lifecycle_marker"));
        }
        // Healthy within a while: right after `up`, on a loaded machine, every agent's API can miss the
        // status probe's 3 s limit once ("unreachable"), which says nothing about the cluster.
        var status2 = await ClusterFacts.WaitHealthyAsync(cluster, TimeSpan.FromSeconds(30));
        Assert.Equal("healthy", status2.GetProperty("health").GetString());
    }

    private static async Task WaitForRowAsync(TestCluster cluster, int node, int id)
    {
        await TestCluster.WaitForAsync(async () =>
        {
            await using var conn = cluster.Superuser(node);
            await conn.OpenAsync();
            return await Scalar<long>(conn, $"SELECT count(*) FROM lifecycle_marker WHERE id = {id}") == 1 ? (object)true : null;
        }, TimeSpan.FromSeconds(30), $"row {id} on pg{node}");
    }

    internal static async Task Exec(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    internal static async Task<T> Scalar<T>(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
