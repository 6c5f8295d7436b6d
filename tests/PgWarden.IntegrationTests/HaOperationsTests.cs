using System.Text.Json;
using PgWarden.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Day-2 operations against the HA engine: configuration changes (hot-standby settings, dcs
/// settings), a second agent for a running node, the REST paths load balancers use, the timeline
/// history, slots after a promotion, reinit.
/// </summary>
public sealed class HaOperationsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task LoweringAndRaisingMaxConnectionsKeepsEveryReplicaRunning()
    {
        await using var cluster = new TestCluster(subnet: 87);
        await cluster.UpAsync();
        foreach (var connections in new[] { 50, 150 })
        {
            Assert.Equal(0, (await cluster.RunAsync("down")).ExitCode);
            File.WriteAllText(cluster.ConfigFile, File.ReadAllText(cluster.ConfigFile).Replace(
                File.ReadAllLines(cluster.ConfigFile).Single(l => l.Contains("max_connections:")), $"  max_connections: {connections}"));
            var up = await cluster.RunAsync("up", "--timeout", "90");
            Assert.True(up.ExitCode == 0, $"max_connections {connections}: {up}\n{cluster.Logs()}");
            await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
            for (var node = 1; node <= 3; node++)
            {
                await using var conn = ClusterFacts.Direct(cluster, node);
                await conn.OpenAsync();
                var value = int.Parse(await Scalar<string>(conn, "SHOW max_connections"));
                output.WriteLine($"max_connections {connections}: pg{node} runs with {value}");
                Assert.True(value >= connections || node != 1 && value >= 100, $"pg{node} runs with max_connections {value}");
            }
        }
    }

    [Fact]
    public async Task SettingsSecondAgentsApiPathsHistoryAndReinit()
    {
        await using var cluster = new TestCluster(subnet: 88);
        await cluster.UpAsync();

        // Fault 9: a changed dcs setting is reported, then applied by `up`.
        File.AppendAllText(cluster.ConfigFile, "dcs: { ttl: 14 }\n");
        var before = await cluster.StatusJsonAsync();
        Assert.Contains(before.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("ttl 5 → 14"));
        var apply = await cluster.RunAsync("up");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Contains("ttl 5 → 14", apply.Stdout);
        var after = await TestCluster.WaitForAsync<object>(async () =>
        {
            var s = await cluster.StatusJsonAsync();
            return s.GetProperty("settings").GetProperty("ttl").GetInt32() == 14 ? s : null;
        }, TimeSpan.FromSeconds(10), "the new ttl in status");
        Assert.DoesNotContain(((JsonElement)after).GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("ttl"));

        // Fault 10: a second agent for a running node leaves it alone and says who runs it.
        var postmaster = cluster.PostmasterPid(1);
        var agent = ClusterFacts.AgentPid(cluster, 1);
        var second = await PgWardenCli.RunAsync(["agent", "--config", cluster.ConfigFile, "--node", "pg1"], TimeSpan.FromSeconds(30));
        Assert.Equal(4, second.ExitCode);
        Assert.Contains($"PID {agent}", second.Stderr);
        Assert.Single(second.Stderr.Trim().Split('\n'));
        Assert.Equal(postmaster, cluster.PostmasterPid(1));
        Assert.Equal(agent, ClusterFacts.AgentPid(cluster, 1));
        Assert.True(TestCluster.IsRunning(postmaster!.Value));

        // The REST paths load balancers use, on the primary and on a replica.
        Assert.Equal(200, (await cluster.ApiGetAsync(1, "/primary")).Status);
        Assert.Equal(503, (await cluster.ApiGetAsync(2, "/primary")).Status);
        Assert.Equal(200, (await cluster.ApiGetAsync(2, "/replica")).Status);
        Assert.Equal(200, (await cluster.ApiGetAsync(2, "/replica?lag=16MB")).Status);
        Assert.Equal(503, (await cluster.ApiGetAsync(1, "/replica")).Status);
        Assert.Equal(200, (await cluster.ApiGetAsync(1, "/read-only")).Status);
        Assert.Equal(200, (await cluster.ApiGetAsync(3, "/read-only")).Status);

        // Faults 12 and 13: after a switchover the history names the new timeline, and no replica
        // was pointed at the new primary before its slot existed.
        Assert.Equal(0, (await cluster.RunAsync("switchover", "--to", "pg3", "--yes")).ExitCode);
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
        long timeline;
        await using (var conn = ClusterFacts.Direct(cluster, 3))
        {
            await conn.OpenAsync();
            timeline = await Scalar<long>(conn, "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint");
        }
        var history = JsonDocument.Parse((await cluster.ApiGetAsync(1, "/history")).Body).RootElement.EnumerateArray().Last();
        Assert.Equal(timeline, history.GetProperty("timeline").GetInt64());
        Assert.Equal("pg3", history.GetProperty("new_leader").GetString());
        foreach (var node in new[] { 1, 2 })
        {
            var logs = Directory.GetFiles(Path.Combine(cluster.DataDir(node), "log")).Select(File.ReadAllText);
            Assert.DoesNotContain(logs, l => l.Contains("replication slot") && l.Contains("does not exist"));
        }

        // reinit: the replica is re-cloned, its old data directory kept aside, and it streams again.
        var reinit = await cluster.RunAsync("reinit", "pg2", "--yes");
        Assert.True(reinit.ExitCode == 0, reinit.ToString());
        await TestCluster.WaitForAsync(async () => ClusterFacts.AsideCopies(cluster, 2).Count == 1 ? (object)true : null,
            TimeSpan.FromSeconds(30), "pg2's old data directory set aside");
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
        await ClusterFacts.WaitHealthyAsync(cluster, TimeSpan.FromSeconds(20));

        // A postmaster.pid left by a crash whose PID now belongs to another process is not "PostgreSQL still running".
        // (PostgreSQL removes its postmaster.pid when it dies with its agent; a host crash leaves it.)
        var pg1Agent = ClusterFacts.AgentPid(cluster, 1);
        var pg1Postmaster = cluster.PostmasterPid(1)!.Value;
        var pidFile = Path.Combine(cluster.DataDir(1), "postmaster.pid");
        var lines = File.ReadAllLines(pidFile);
        TestCluster.Signal(pg1Agent, 9);
        await TestCluster.WaitForExitAsync(pg1Postmaster, TimeSpan.FromSeconds(10), "pg1's PostgreSQL to die with its agent");
        lines[0] = Environment.ProcessId.ToString();
        File.WriteAllLines(pidFile, lines);
        File.SetUnixFileMode(pidFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var up = await cluster.RunAsync("up", "--timeout", "90");
        Assert.True(up.ExitCode == 0, up + cluster.Logs(40));
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
    }
}
