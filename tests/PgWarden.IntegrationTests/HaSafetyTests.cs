using PgWarden.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>
/// The HA safety faults (issue "never two writable primaries, never a lost acknowledged write, never
/// a cluster left without a primary"), each asserted from the outside: a fence probe writing to
/// every node directly, the write probe through PgBouncer, SQL on every node, process ids.
/// </summary>
public sealed class HaSafetyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AFrozenPrimaryAgentIsFencedBeforeAnotherNodeCanLeadAndNothingIsLost()
    {
        await using var cluster = new TestCluster(subnet: 81);
        await cluster.UpAsync();
        // A ttl changed on the running cluster: the lease must be moved to it, or the fence would
        // count with a TTL the lease does not have.
        File.AppendAllText(cluster.ConfigFile, "dcs: { ttl: 14 }\n");
        Assert.Contains("ttl 5 → 14", (await cluster.RunAsync("up")).Stdout);
        await Task.Delay(2000);
        await using var probe = new WriteProbe(cluster);
        await probe.StartAsync();
        await using var fence = new FenceProbe(cluster, probe.Clock);
        await fence.StartAsync();
        await Task.Delay(1500);
        var agent = ClusterFacts.AgentPid(cluster, 1);
        var postmaster = cluster.PostmasterPid(1)!.Value;
        var at = probe.Now;
        TestCluster.Signal(agent, 19);
        try
        {
            // Its postmaster stops accepting writes although its agent cannot run; another node takes over.
            var leader = (string)await TestCluster.WaitForAsync<object>(async () => await cluster.LeaderAsync() is "pg2" or "pg3" ? (await cluster.LeaderAsync())! : null,
                TimeSpan.FromSeconds(30), "another node to lead while pg1's agent is frozen");
            await probe.WaitForSuccessAfterAsync(probe.Now, TimeSpan.FromSeconds(30));
            await Task.Delay(TimeSpan.FromSeconds(10));
            output.WriteLine($"frozen agent: {leader} leads; longest gap {probe.LongestGapAfter(at).TotalSeconds:0.00} s");
            Assert.Equal([leader], await ClusterFacts.WritableNodesAsync(cluster));
        }
        finally
        {
            TestCluster.Signal(agent, 18);
        }
        Assert.False(TestCluster.IsRunning(postmaster) && await ClusterFacts.InRecoveryAsync(cluster, 1) == false, "pg1's old postmaster still accepts writes");
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
        var violations = fence.Violations();
        Assert.True(violations.Count == 0, $"two writable primaries: {fence.Describe(violations)}");
        Assert.Empty(await probe.LostAsync());
        Assert.Empty(await fence.LostAsync());
        Assert.Contains("fence watchdog killed PostgreSQL", File.ReadAllText(Path.Combine(cluster.Dir, "logs", "agent-pg1.log")));
        var digests = await ClusterFacts.TableDigestsAsync(cluster, "probe", "id");
        Assert.Single(digests.Values.Distinct());
    }

    [Fact]
    public async Task AStaleNodeStartedAloneDoesNotLeadAndTheNewerTimelineKeepsItsWrites()
    {
        await using var cluster = new TestCluster(subnet: 82, extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  schedule: { logical: off, physical: off, verify: off }\n");
        await cluster.UpAsync();
        // A (pg1) crashes; B or C is promoted and acknowledges writes; then B and C crash too.
        TestCluster.Signal(ClusterFacts.AgentPid(cluster, 1), 9);
        var newLeader = (string)await TestCluster.WaitForAsync<object>(async () => await cluster.LeaderAsync() is "pg2" or "pg3" ? (await cluster.LeaderAsync())! : null,
            TimeSpan.FromSeconds(40), "a new leader after pg1's crash");
        await using (var app = cluster.ThroughPooler(1))
        {
            await app.OpenAsync();
            await Exec(app, "CREATE TABLE acked_on_new_timeline AS SELECT g FROM generate_series(1, 1000) g");
        }
        var survivor = newLeader == "pg2" ? 3 : 2;
        await TestCluster.WaitForAsync(async () => await ReplayedAsync(cluster, survivor, "acked_on_new_timeline") ? (object)true : null,
            TimeSpan.FromSeconds(20), "the other replica to have the rows");
        foreach (var node in new[] { 2, 3 })
        {
            TestCluster.Signal(ClusterFacts.AgentPid(cluster, node), 9);
        }
        await Task.Delay(TimeSpan.FromSeconds(11)); // their member keys and the lease expire
        cluster.StartAgent(1);
        await Task.Delay(TimeSpan.FromSeconds(15));
        Assert.Empty(await ClusterFacts.WritableNodesAsync(cluster));
        Assert.Null(await cluster.LeaderAsync());
        var decision = (await cluster.NodeApiAsync(1)).GetProperty("last_decision").GetString();
        output.WriteLine($"pg1 alone: {decision}");
        Assert.Contains("older than timeline", decision);
        // The archive holds the newer timeline's history; wal-fetch does not hand it to pg1 while pg1 is limited to its own.
        var history = (await cluster.RunAsync("wal-fetch", "--data-dir", cluster.DataDir(1), "00000002.history", Path.Combine(cluster.Dir, "fetched.history")));
        Assert.Equal(1, history.ExitCode);
        Assert.Contains("newer than the leader's", history.Stderr);

        // B and C come back: the newer timeline leads again, with every acknowledged row; pg1 rejoins it.
        var up = await cluster.RunAsync("up", "--timeout", "90");
        Assert.True(up.ExitCode == 0, up + cluster.Logs(40));
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
        Assert.NotEqual("pg1", await cluster.LeaderAsync());
        for (var node = 1; node <= 3; node++)
        {
            await using var conn = ClusterFacts.Direct(cluster, node);
            await conn.OpenAsync();
            Assert.Equal(1000L, await Scalar<long>(conn, "SELECT count(*) FROM acked_on_new_timeline"));
        }
    }

    [Fact]
    public async Task WhilePausedAManualSwitchoverAndAManualFailoverAreCarriedOut()
    {
        await using var cluster = new TestCluster(subnet: 83);
        await cluster.UpAsync();
        Assert.Equal(0, (await cluster.RunAsync("pause")).ExitCode);
        var switchover = await cluster.RunAsync("switchover", "--to", "pg2", "--yes");
        Assert.True(switchover.ExitCode == 0, switchover.ToString());
        Assert.Equal("pg2", await cluster.LeaderAsync());
        Assert.Equal(["pg2"], await ClusterFacts.WritableNodesAsync(cluster));

        // pg3 streams pg2's new timeline; then the leader's host crashes while paused: no automatic failover …
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(30));
        TestCluster.Signal(ClusterFacts.AgentPid(cluster, 2), 9);
        await Task.Delay(TimeSpan.FromSeconds(14));
        Assert.Null(await cluster.LeaderAsync());
        Assert.Empty(await ClusterFacts.WritableNodesAsync(cluster));
        // … until the operator asks for one: carried out, or refused up front.
        var refused = await cluster.RunAsync("failover", "--to", "pg2", "--yes");
        Assert.Equal(7, refused.ExitCode);
        var failover = await cluster.RunAsync("failover", "--to", "pg3", "--timeout", "30", "--yes");
        Assert.True(failover.ExitCode == 0, failover.ToString());
        Assert.Equal(["pg3"], await ClusterFacts.WritableNodesAsync(cluster));
        Assert.Equal(0, (await cluster.RunAsync("resume")).ExitCode);
        Assert.Equal(0, (await cluster.RunAsync("up")).ExitCode);
        Assert.Equal(3, await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task ASwitchoverToAStalledReplicaLeavesThePrimaryInPlace()
    {
        await using var cluster = new TestCluster(subnet: 84);
        await cluster.UpAsync();
        await using var probe = new WriteProbe(cluster);
        await probe.StartAsync();
        await using var fence = new FenceProbe(cluster, probe.Clock);
        await fence.StartAsync();
        var receiver = cluster.ServerProcesses(2, "walreceiver").Single();
        TestCluster.Signal(receiver, 19);
        try
        {
            await using (var conn = ClusterFacts.Direct(cluster, 1))
            {
                await conn.OpenAsync();
                await Exec(conn, "CREATE TABLE stall_filler AS SELECT g, md5(g::text) AS v FROM generate_series(1, 1000) g"); // ~80 kB of WAL
            }
            var at = probe.Now;
            var switchover = await cluster.RunAsync("switchover", "--to", "pg2", "--yes", "--timeout", "20");
            output.WriteLine(switchover.ToString());
            Assert.NotEqual(0, switchover.ExitCode);
            Assert.Contains("dropped", switchover.Stderr);
            // The old primary was never stopped: a primary all along, pg3 never diverged.
            Assert.Equal(["pg1"], await ClusterFacts.WritableNodesAsync(cluster));
            Assert.Equal("pg1", await cluster.LeaderAsync());
            await probe.WaitForSuccessAfterAsync(probe.Now, TimeSpan.FromSeconds(10));
            Assert.True(fence.Acked.Where(w => w.Started > at).GroupBy(w => w.Node).Single().Key == "pg1");
        }
        finally
        {
            TestCluster.Signal(receiver, 18);
        }
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
        Assert.Empty(fence.Violations());
        Assert.Empty(await probe.LostAsync());
        var status = await cluster.StatusJsonAsync();
        Assert.All(status.GetProperty("poolers").EnumerateArray(), p => Assert.NotEqual(System.Text.Json.JsonValueKind.True, p.GetProperty("paused").ValueKind));
    }

    [Fact]
    public async Task EveryPgBouncerThatWasSentPauseIsResumedOnEveryWayOut()
    {
        await using var cluster = new TestCluster(subnet: 85);
        await cluster.UpAsync();
        await using (var app = cluster.ThroughPooler(1))
        {
            await app.OpenAsync();
            await Exec(app, "CREATE TABLE held (x int)");
        }
        // A transaction held open through pgb2: its PAUSE cannot complete, so the switchover gives up.
        await using (var held = cluster.ThroughPooler(2))
        {
            await held.OpenAsync();
            await Exec(held, "BEGIN; INSERT INTO held VALUES (1)");
            var switchover = await cluster.RunAsync("switchover", "--to", "pg2", "--yes");
            Assert.NotEqual(0, switchover.ExitCode);
            output.WriteLine(switchover.ToString());
            Assert.False(await PausedAsync(cluster, "pgb1"), "pgb1 was left paused");
            await WriteThroughAsync(cluster, 1, TimeSpan.FromSeconds(3));
            await Exec(held, "COMMIT");
        }
        await WriteThroughAsync(cluster, 2, TimeSpan.FromSeconds(3));
        Assert.False(await PausedAsync(cluster, "pgb2"), "pgb2 was left paused");
        Assert.Equal("pg1", await cluster.LeaderAsync());

        // The switchover command dies between PAUSE and RESUME: the poolers resume by themselves.
        await using (var held = cluster.ThroughPooler(2))
        {
            await held.OpenAsync();
            await Exec(held, "BEGIN; INSERT INTO held VALUES (2)");
            var cli = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(PgWardenCli.Binary, ["switchover", "--to", "pg2", "--yes", "--dir", cluster.Dir])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            })!;
            // The command checkpoints the primary before it pauses (up to 60 s): on a loaded CI machine that
            // alone has taken over 10 s.
            await TestCluster.WaitForAsync(async () => await PausedAsync(cluster, "pgb1") ? (object)true : null, TimeSpan.FromSeconds(60), "pgb1 to be paused");
            cli.Kill();
            await cli.WaitForExitAsync();
            var status = await cluster.StatusJsonAsync();
            Assert.Contains(status.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("PAUSED"));
            await Exec(held, "COMMIT");
        }
        await WriteThroughAsync(cluster, 1, TimeSpan.FromSeconds(45));
        Assert.False(await PausedAsync(cluster, "pgb1"));
        Assert.Contains("left paused", File.ReadAllText(Path.Combine(cluster.Dir, "logs", "pooler-pgb1.log")));
    }

    [Fact]
    public async Task ANoFailoverReplicaThatGotMoreWalThanTheWinnerIsRewoundAndStreamsAgain()
    {
        // A lag limit above what pg2 misses: pg2 stays eligible, pg3 (nofailover) may not lead.
        await using var cluster = new TestCluster(subnet: 86, nodeOptions: n => n == 3 ? "nofailover: true" : null, extraYaml: "dcs: { maximum_lag_on_failover: 1GB }");
        await cluster.UpAsync();
        var receiver = cluster.ServerProcesses(2, "walreceiver").Single();
        TestCluster.Signal(receiver, 19);
        var postmaster = cluster.PostmasterPid(1)!.Value;
        try
        {
            await using (var conn = ClusterFacts.Direct(cluster, 1))
            {
                conn.ConnectionString += ";Command Timeout=300";
                await conn.OpenAsync();
                // About 130 MB of WAL: far more than the socket buffers (up to 36 MB here) hold for pg2's frozen WAL receiver.
                await Exec(conn, "CREATE TABLE only_on_pg3 AS SELECT g, repeat(md5(g::text), 20) AS v FROM generate_series(1, 200000) g");
            }
            await TestCluster.WaitForAsync(async () => await ReplayedAsync(cluster, 3, "only_on_pg3") ? (object)true : null, TimeSpan.FromSeconds(20), "pg3 to replay it");
            TestCluster.Signal(ClusterFacts.AgentPid(cluster, 1), 9);
            await TestCluster.WaitForExitAsync(postmaster, TimeSpan.FromSeconds(5), "pg1's PostgreSQL to stop with its agent");
        }
        finally
        {
            TestCluster.Signal(receiver, 18);
        }
        // pg3 may not take over (nofailover): pg2, behind it, does; pg3's WAL left pg2's history.
        await TestCluster.WaitForAsync(async () => await cluster.LeaderAsync() == "pg2" ? (object)true : null, TimeSpan.FromSeconds(40), "pg2 to lead");
        // The rewind comes first: before its agent notices the divergence, pg3's WAL receiver can show
        // "streaming" for a moment (CI: the check passed, then pg3 restarted for its pg_rewind and refused
        // the next connection with 57P03).
        var logFile = Path.Combine(cluster.Dir, "logs", "agent-pg3.log");
        string log;
        try
        {
            log = await TestCluster.WaitForAsync(() => Task.FromResult(File.ReadAllText(logFile) is var text && text.Contains("rejoin step pg_rewind from pg2") ? text : null),
                TimeSpan.FromSeconds(60), "pg3's agent to log its pg_rewind from pg2");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + cluster.Logs(60), e);
        }
        Assert.Contains("left pg2's timeline history", log);
        // Then pg3 streams pg2's timeline, and the table only pg3 had is gone.
        var pg2Timeline = await ClusterFacts.TimelineAsync(cluster, 2);
        await TestCluster.WaitForAsync(async () =>
        {
            await using var conn = ClusterFacts.Direct(cluster, 3);
            await conn.OpenAsync();
            return await Scalar<string>(conn, "SELECT COALESCE((SELECT status || ' ' || received_tli FROM pg_stat_wal_receiver), 'none')") == $"streaming {pg2Timeline}" ? (object)true : null;
        }, TimeSpan.FromSeconds(60), "pg3 to stream pg2's timeline");
        var kept = await TestCluster.WaitForAsync(async () =>
        {
            await using var conn = ClusterFacts.Direct(cluster, 3);
            await conn.OpenAsync();
            return (object)await Scalar<bool>(conn, "SELECT to_regclass('only_on_pg3') IS NOT NULL");
        }, TimeSpan.FromSeconds(30), "pg3 to answer");
        Assert.False((bool)kept, "pg3 kept WAL the new primary never had");
        Assert.Empty(ClusterFacts.AsideCopies(cluster, 3));
    }

    private static async Task<bool> PausedAsync(TestCluster cluster, string pooler)
    {
        var status = await cluster.StatusJsonAsync();
        return status.GetProperty("poolers").EnumerateArray().Single(p => p.GetProperty("name").GetString() == pooler)
            .GetProperty("paused").ValueKind == System.Text.Json.JsonValueKind.True;
    }

    private static async Task WriteThroughAsync(TestCluster cluster, int pooler, TimeSpan within)
    {
        await TestCluster.WaitForAsync(async () =>
        {
            await using var app = cluster.ThroughPooler(pooler);
            app.ConnectionString += ";Command Timeout=2";
            await app.OpenAsync();
            await Exec(app, "INSERT INTO held VALUES (3)");
            return (object)true;
        }, within, $"a write through pgb{pooler}");
    }

    private static async Task<bool> ReplayedAsync(TestCluster cluster, int node, string table)
    {
        await using var conn = ClusterFacts.Direct(cluster, node);
        await conn.OpenAsync();
        return await Scalar<bool>(conn, $"SELECT to_regclass('{table}') IS NOT NULL");
    }
}
