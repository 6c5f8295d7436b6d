using System.Text.Json;
using PgWarden.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>
/// The day-2 commands on one real cluster: `config apply` (a reloadable parameter live on every
/// node, a postmaster parameter pending until `restart --rolling`, which loses no acknowledged
/// write), `reload`, `switchover --at` (and `--cancel`), `history`. Each test leaves a healthy cluster.
/// </summary>
public sealed class DayTwoCommandsTests(DayTwoClusterFixture fixture, ITestOutputHelper output) : IClassFixture<DayTwoClusterFixture>
{
    private TestCluster Cluster => fixture.Cluster;

    private async Task<string> ShowAsync(int node, string parameter)
    {
        await using var conn = Cluster.Superuser(node);
        await conn.OpenAsync();
        return await Scalar<string>(conn, $"SHOW {parameter}");
    }

    private async Task<CliResult> RunOkAsync(params string[] args)
    {
        var r = await Cluster.RunAsync(args);
        output.WriteLine($"$ pgwarden {string.Join(' ', args)}\n{r}");
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    private async Task<string> LeaderAsync() =>
        (await TestCluster.WaitForAsync(async () => await Cluster.LeaderAsync(), TimeSpan.FromSeconds(30), "a leader"))!;

    [Fact]
    public async Task ConfigApplyRefusesBadInputAndAReloadableParameterIsLiveOnEveryNode()
    {
        var unknown = await Cluster.RunAsync("config", "apply", "--set", "work_mme=24MB", "--yes");
        Assert.True(unknown.ExitCode == 11, unknown.ToString());
        Assert.Contains("unknown parameter work_mme (did you mean work_mem?)", unknown.Stderr);
        var owned = await Cluster.RunAsync("config", "apply", "--set", "primary_conninfo=host=elsewhere", "--yes");
        Assert.True(owned.ExitCode == 7, owned.ToString());
        Assert.Contains("managed by PgWarden", owned.Stderr);
        var badValue = await Cluster.RunAsync("config", "apply", "--set", "work_mem=lots", "--yes");
        Assert.True(badValue.ExitCode == 2, badValue.ToString());
        var unconfirmed = await Cluster.RunAsync("config", "apply", "--set", "work_mem=24MB");
        Assert.True(unconfirmed.ExitCode == 7, unconfirmed.ToString());
        Assert.NotEqual("24MB", await ShowAsync(2, "work_mem"));

        var apply = await RunOkAsync("config", "apply", "--set", "work_mem=24MB", "--yes");
        Assert.Contains("work_mem: ", apply.Stdout);
        Assert.Contains("→ 24MB    [reload]", apply.Stdout);
        for (var node = 1; node <= 3; node++)
        {
            Assert.Equal("24MB", await ShowAsync(node, "work_mem"));
        }
        var show = await RunOkAsync("config", "show");
        Assert.Contains("work_mem = 24MB", show.Stdout.Split('\n').Single(l => l.StartsWith("parameters set with `config apply`:", StringComparison.Ordinal)));
        Assert.Contains("no change", (await RunOkAsync("config", "apply", "--set", "work_mem=24MB", "--yes")).Stdout);
    }

    [Fact]
    public async Task APostmasterParameterIsPendingUntilARollingRestartThatLosesNoWrite()
    {
        var before = await ShowAsync(1, "shared_buffers");
        var wanted = before == "144MB" ? "160MB" : "144MB";
        var apply = await RunOkAsync("config", "apply", "--set", $"shared_buffers={wanted}", "--yes");
        Assert.Contains("[restart needed]", apply.Stdout);
        Assert.Contains("restart pending for shared_buffers", apply.Stdout);
        var status = await Cluster.RunAsync("status");
        Assert.Contains("restart pending (shared_buffers)", status.Stdout);
        Assert.Equal(before, await ShowAsync(2, "shared_buffers"));

        var leader = await LeaderAsync();
        await using var probe = new WriteProbe(Cluster);
        await probe.StartAsync();
        await Task.Delay(500);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var rolling = await RunOkAsync("restart", "--rolling", "--yes");
        Assert.Contains("switching over away from", rolling.Stdout);
        output.WriteLine($"rolling restart took {clock.Elapsed.TotalSeconds:0.0} s; longest write gap {probe.LongestGapAfter(TimeSpan.Zero).TotalSeconds:0.00} s, {probe.Failures.Count} failed writes");
        await probe.WaitForSuccessAfterAsync(probe.Now, TimeSpan.FromSeconds(30));
        await probe.StopAsync();
        Assert.Empty(await probe.LostAsync());
        Assert.NotEqual(leader, await LeaderAsync());
        for (var node = 1; node <= 3; node++)
        {
            Assert.Equal(wanted, await ShowAsync(node, "shared_buffers"));
        }
        await ClusterFacts.WaitHealthyAsync(Cluster, TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("restart pending", (await Cluster.RunAsync("status")).Stdout);
        Assert.Single(await ClusterFacts.WritableNodesAsync(Cluster));
    }

    [Fact]
    public async Task ReloadReloadsEveryNodeAndRestartOfOneReplicaKeepsTheLeader()
    {
        var loaded = new Dictionary<int, DateTime>();
        for (var node = 1; node <= 3; node++)
        {
            await using var conn = Cluster.Superuser(node);
            await conn.OpenAsync();
            loaded[node] = await Scalar<DateTime>(conn, "SELECT pg_conf_load_time()");
        }
        var reload = await RunOkAsync("reload");
        for (var node = 1; node <= 3; node++)
        {
            Assert.Contains($"pg{node}: reloaded", reload.Stdout);
            await using var conn = Cluster.Superuser(node);
            await conn.OpenAsync();
            Assert.True(await Scalar<DateTime>(conn, "SELECT pg_conf_load_time()") > loaded[node], $"pg{node} did not reload");
        }
        Assert.Equal(11, (await Cluster.RunAsync("reload", "pg9")).ExitCode);

        var leader = await LeaderAsync();
        var replica = new[] { "pg1", "pg2", "pg3" }.First(n => n != leader);
        var pid = Cluster.PostmasterPid(int.Parse(replica[2..]));
        var restart = await RunOkAsync("restart", replica, "--yes", "--json");
        Assert.Contains($"{replica}: restarted", restart.Stderr);
        var step = Assert.Single(CliJson.Data(restart.Stdout).GetProperty("steps").EnumerateArray());
        Assert.Equal(replica, step.GetProperty("node").GetString());
        Assert.StartsWith("restarted (replica", step.GetProperty("action").GetString());
        Assert.True(step.GetProperty("seconds").GetDouble() > 0);
        Assert.NotEqual(pid, Cluster.PostmasterPid(int.Parse(replica[2..])));
        Assert.Equal(leader, await LeaderAsync());
        Assert.Equal(2, (await Cluster.RunAsync("restart")).ExitCode);
        Assert.Equal(7, (await Cluster.RunAsync("restart", replica)).ExitCode);
    }

    [Fact]
    public async Task AScheduledSwitchoverHappensAtItsTimeAndHistorySaysWhy()
    {
        await ClusterFacts.WaitHealthyAsync(Cluster, TimeSpan.FromSeconds(30));
        var leader = await LeaderAsync();
        await RunOkAsync("switchover", "--at", "+120s", "--yes");
        Assert.Contains("scheduled: switchover to", (await Cluster.RunAsync("status")).Stdout);
        await RunOkAsync("switchover", "--cancel");
        Assert.Equal(11, (await Cluster.RunAsync("switchover", "--cancel")).ExitCode);
        Assert.DoesNotContain("scheduled:", (await Cluster.RunAsync("status")).Stdout);

        var scheduled = await RunOkAsync("switchover", "--at", "+5s", "--yes");
        var requestedAt = DateTime.UtcNow;
        var target = scheduled.Stdout.Split(" to ")[1].Split(' ')[0];
        await Task.Delay(2500);
        Assert.Equal(leader, await LeaderAsync());
        try
        {
            await TestCluster.WaitForAsync(async () => await Cluster.LeaderAsync() == target ? "yes" : null, TimeSpan.FromSeconds(30), $"{target} to lead after the scheduled time");
        }
        catch (TimeoutException)
        {
            // What the leader's agent did at the scheduled time (a dropped request says why).
            output.WriteLine(Cluster.Logs(40));
            throw;
        }
        var tookOver = DateTime.UtcNow;
        output.WriteLine($"scheduled for +5 s; {target} led {(tookOver - requestedAt).TotalSeconds:0.0} s after the request");
        Assert.True(tookOver - requestedAt >= TimeSpan.FromSeconds(4), "the switchover happened before its time");
        await ClusterFacts.WaitHealthyAsync(Cluster, TimeSpan.FromSeconds(30));

        var history = CliJson.Data((await RunOkAsync("history", "--json")).Stdout);
        var last = history.GetProperty("timelines").EnumerateArray().Last();
        Assert.Equal(target, last.GetProperty("leader").GetString());
        Assert.Contains("switchover", last.GetProperty("reason").GetString());
        Assert.Equal(history.GetProperty("timeline").GetInt64(), last.GetProperty("timeline").GetInt64());
        Assert.True(last.GetProperty("parent").GetInt64() >= 1);
        Assert.Contains("initdb", history.GetProperty("timelines")[0].GetProperty("reason").GetString());
        Assert.Contains("timelines of", (await RunOkAsync("history")).Stdout);
    }
}
