using System.Text.Json;
using PgWarden.IntegrationTests.Infrastructure;
using static PgWarden.IntegrationTests.ClusterLifecycleTests;

namespace PgWarden.IntegrationTests;

/// <summary>
/// `--json` prints exactly one envelope {command, ok, exit_code, data, error} on stdout — for results and for errors —
/// and long work says on stderr what it waits for (reindex behind a lock names the blocking PID before it finishes).
/// </summary>
public sealed class JsonOutputTests(JsonOutputFixture fixture) : IClassFixture<JsonOutputFixture>
{
    private TestCluster Cluster => fixture.Cluster;

    /// <summary>The envelope on stdout, checked for its fixed shape: the five keys in order, ok == (exit_code == 0), exit_code == the process's.</summary>
    private static JsonElement Envelope(CliResult result, string command)
    {
        var envelope = CliJson.Envelope(result.Stdout);
        Assert.Equal(["command", "ok", "exit_code", "data", "error"], envelope.EnumerateObject().Select(p => p.Name));
        Assert.Equal(command, envelope.GetProperty("command").GetString());
        Assert.Equal(result.ExitCode, envelope.GetProperty("exit_code").GetInt32());
        Assert.Equal(result.ExitCode == 0, envelope.GetProperty("ok").GetBoolean());
        return envelope;
    }

    [Fact]
    public async Task StatusAndTunePrintTheirDataInTheEnvelope()
    {
        var status = await Cluster.RunAsync("status", "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        var envelope = Envelope(status, "status");
        Assert.Equal(JsonValueKind.Null, envelope.GetProperty("error").ValueKind);
        var data = envelope.GetProperty("data");
        Assert.Equal("healthy", data.GetProperty("health").GetString());
        Assert.Equal(["pg1", "pg2"], data.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("name").GetString()));

        var tune = await PgWardenCli.RunAsync("tune", "--ram", "16GB", "--cpus", "4", "--storage", "ssd", "--json");
        Assert.True(tune.ExitCode == 0, tune.ToString());
        var settings = Envelope(tune, "tune").GetProperty("data").GetProperty("settings").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("value").GetString());
        Assert.Equal("4GB", settings["shared_buffers"]);
    }

    [Fact]
    public async Task ErrorsAreAnEnvelopeToo()
    {
        var bad = Path.Combine(Cluster.Dir, "bad-cluster.yaml");
        await File.WriteAllTextAsync(bad, "cluster: x\nnodes: []\nunknown_key: 1\n");
        var check = await PgWardenCli.RunAsync("config", "check", "--config", bad, "--json");
        Assert.True(check.ExitCode == 3, check.ToString());
        var envelope = Envelope(check, "config check");
        Assert.Equal(JsonValueKind.Null, envelope.GetProperty("data").ValueKind);
        var error = envelope.GetProperty("error");
        Assert.Equal(3, error.GetProperty("exit_code").GetInt32());
        Assert.Contains(error.GetProperty("message").GetString()!, check.Stderr);

        var good = await Cluster.RunAsync("config", "check", "--json");
        Assert.True(good.ExitCode == 0, good.ToString());
        Assert.Equal($"it{Cluster.Subnet}", Envelope(good, "config check").GetProperty("data").GetProperty("cluster").GetString());

        // A command line that does not parse, and an unknown backup id (exit 11), with --json.
        var usage = await Cluster.RunAsync("backup", "list", "--json", "--bogus");
        Assert.Equal(2, Envelope(usage, "backup list").GetProperty("error").GetProperty("exit_code").GetInt32());
        var unknown = await Cluster.RunAsync("backup", "verify", "20000101T000000Z-physical", "--json");
        Assert.Equal(11, Envelope(unknown, "backup verify").GetProperty("exit_code").GetInt32());
    }

    [Fact]
    public async Task BackupListHasNoTimelineForLogicalBackups()
    {
        var list = await Cluster.RunAsync("backup", "list", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Envelope(list, "backup list");
        var backups = CliJson.Backups(list.Stdout).ToDictionary(b => b.GetProperty("id").GetString()!);
        var logical = backups[fixture.LogicalId];
        Assert.Equal("logical", logical.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, logical.GetProperty("timeline").ValueKind);
        Assert.Equal("bookreader", logical.GetProperty("database").GetString());
        var physical = backups[fixture.PhysicalId];
        Assert.True(physical.GetProperty("timeline").GetInt32() >= 1, physical.ToString());
        Assert.Equal(JsonValueKind.Null, physical.GetProperty("database").ValueKind);
        // Every entry has the same keys, in the same order.
        Assert.Equal(logical.EnumerateObject().Select(p => p.Name), physical.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task KillDryRunListsTheSessionAndTerminatesNothing()
    {
        await using var idle = await MonitoringSession.OpenAsync(Cluster, "jsontest", "json-idle");
        await Task.Delay(1500);
        var dry = await Cluster.RunAsync("kill", "idle", "--older-than", "1s", "--database", "jsontest", "--dry-run", "--json");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        var data = Envelope(dry, "kill idle").GetProperty("data");
        Assert.True(data.GetProperty("dry_run").GetBoolean());
        Assert.Contains(data.GetProperty("sessions").EnumerateArray(), s => s.GetProperty("pid").GetInt32() == idle.Pid && s.GetProperty("application").GetString() == "json-idle");
        Assert.Equal(0, data.GetProperty("terminated").GetArrayLength());
        await using var conn = await fixture.OpenAsync();
        Assert.Equal(1L, await Scalar<long>(conn, $"SELECT count(*) FROM pg_stat_activity WHERE pid = {idle.Pid}"));
    }

    [Fact]
    public async Task ReinitWaitFollowsTheReplicaUntilItStreamsAgain()
    {
        var reinit = await Cluster.RunAsync("reinit", "pg2", "--yes", "--wait", "--timeout", "120", "--json");
        Assert.True(reinit.ExitCode == 0, reinit.ToString() + Cluster.Logs());
        var data = Envelope(reinit, "reinit").GetProperty("data");
        Assert.True(data.GetProperty("waited").GetBoolean());
        // Without a terminal each state it passed is a plain line on stderr, ending with streaming.
        var phases = reinit.Stderr.Split('\n').Where(l => l.StartsWith("pgwarden: [", StringComparison.Ordinal) && l.Contains("] pg2: ", StringComparison.Ordinal)).ToList();
        Assert.True(phases.Count >= 2, reinit.ToString());
        Assert.EndsWith("pg2: streams from the leader", phases[^1], StringComparison.Ordinal);
        Assert.Contains(phases, l => !l.EndsWith("streams from the leader", StringComparison.Ordinal));
        // It returned when pg2 streams, after a real re-clone (its old data directory is set aside).
        await using var conn = await fixture.OpenAsync();
        await TestCluster.WaitForAsync(async () => await Scalar<long>(conn, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg2' AND state = 'streaming'") == 1 ? (object)true : null,
            TimeSpan.FromSeconds(5), "pg2 to stream");
        var pg2 = (await Cluster.StatusJsonAsync()).GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("name").GetString() == "pg2");
        Assert.True(pg2.GetProperty("aside_copies").GetInt32() >= 1, pg2.ToString());
    }

    [Fact]
    public async Task ReindexBehindALockNamesTheBlockerBeforeItFinishes()
    {
        await using var blocker = await fixture.OpenAsync();
        await Exec(blocker, "BEGIN; LOCK TABLE jsont.items IN SHARE MODE");
        var blockerPid = blocker.ProcessID;
        var named = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reindex = PgWardenCli.RunAsync(["reindex", "--concurrently", "jsont.items_code", "--json", "--dir", Cluster.Dir], TimeSpan.FromMinutes(2),
            line =>
            {
                if (line.Contains($"PID {blockerPid}", StringComparison.Ordinal))
                {
                    named.TrySetResult(line);
                }
            });
        string line;
        try
        {
            line = await named.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(reindex.IsCompleted, "the reindex finished although the lock is still held");
        }
        finally
        {
            await Exec(blocker, "COMMIT");
        }
        Assert.Contains("ShareUpdateExclusiveLock", line);
        Assert.Contains("LOCK TABLE jsont.items IN SHARE MODE", line);
        var result = await reindex;
        Assert.True(result.ExitCode == 0, result.ToString());
        // With --json the progress stayed on stderr: stdout is the envelope alone.
        var data = Envelope(result, "reindex").GetProperty("data");
        Assert.Contains(data.GetProperty("blocked_by").EnumerateArray(), b => b.GetProperty("pid").GetInt32() == blockerPid);
        Assert.All(data.GetProperty("indexes").EnumerateArray(), i => Assert.True(i.GetProperty("valid").GetBoolean()));
    }
}
