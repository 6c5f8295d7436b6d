using System.Diagnostics;
using Npgsql;
using PgWarden.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Issue 12 items 3 and 4 on a real cluster (subnet 200): the embedded etcd runs with authentication,
/// so etcdctl without the cluster's credentials (or with the poolers' read-only user, or a wrong
/// password) cannot rewrite the leader key or pause the cluster, while the cluster itself pauses,
/// resumes, switches over and recovers from an etcd restart (every token forgotten); and a PgBouncer runs from nothing but `secrets export --role pooler`.
/// </summary>
public sealed class EtcdAuthClusterTests(ITestOutputHelper output)
{
    private const string Etcdctl = "/usr/bin/etcdctl";

    [Fact]
    public async Task Etcd_needs_the_clusters_credentials_and_a_pooler_runs_on_its_export_alone()
    {
        await using var cluster = new TestCluster(subnet: 200);
        await cluster.UpAsync();
        // TLS is on (generated certificates): the embedded etcd serves https with pg1's certificate.
        _ca = cluster.CaFile;
        var endpoint = $"https://{cluster.Address(1)}:2479";
        var plain = await EtcdctlAsync(endpoint.Replace("https://", "http://"), null, null, "get", "/x");
        Assert.NotEqual(0, plain.ExitCode);
        var secrets = File.ReadAllLines(Path.Combine(cluster.Dir, "secrets.yaml"));
        string Secret(string key) => secrets.First(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(':', 2)[1].Trim().Trim('"');
        var leaderKey = $"/pgwarden/it{cluster.Subnet}/leader";
        var configKey = $"/pgwarden/it{cluster.Subnet}/config";

        // Anonymous, the poolers' read-only user, and a wrong password: every write is refused.
        var anonymous = await EtcdctlAsync(endpoint, null, null, "put", leaderKey, "pg9");
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.Contains("user name is empty", anonymous.Stderr);
        Assert.NotEqual(0, (await EtcdctlAsync(endpoint, null, null, "put", configKey, "{\"paused\":true}")).ExitCode);
        var readOnly = await EtcdctlAsync(endpoint, $"pgwarden-it{cluster.Subnet}-pooler", Secret("etcd_pooler_password"), "put", leaderKey, "pg9");
        Assert.NotEqual(0, readOnly.ExitCode);
        Assert.Contains("permission denied", readOnly.Stderr);
        var wrong = await EtcdctlAsync(endpoint, $"pgwarden-it{cluster.Subnet}", "not-the-password", "put", configKey, "{\"paused\":true}");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("authentication failed", wrong.Stderr);
        // The agents' user may write only under the cluster's prefix.
        var outside = await EtcdctlAsync(endpoint, $"pgwarden-it{cluster.Subnet}", Secret("etcd_agent_password"), "put", "/pgwarden/another/leader", "pg9");
        Assert.Contains("permission denied", outside.Stderr);
        var read = await EtcdctlAsync(endpoint, $"pgwarden-it{cluster.Subnet}-pooler", Secret("etcd_pooler_password"), "get", leaderKey, "--print-value-only");
        Assert.Equal("pg1", read.Stdout.Trim());
        Assert.Equal("pg1", await cluster.LeaderAsync());

        // The cluster itself works with authentication on: pause/resume and a switchover.
        Assert.Equal(0, (await cluster.RunAsync("pause")).ExitCode);
        await TestCluster.WaitForAsync(async () => (await cluster.StatusJsonAsync()).GetProperty("paused").GetBoolean() ? (bool?)true : null,
            TimeSpan.FromSeconds(15), "status to show the pause written with the agents' etcd user");
        Assert.Equal(0, (await cluster.RunAsync("resume")).ExitCode);
        var switchover = await cluster.RunAsync("switchover", "--to", "pg2", "--yes");
        Assert.True(switchover.ExitCode == 0, switchover.ToString());
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
        Assert.Equal("pg2", await cluster.LeaderAsync());

        // etcd killed and started again (the nemesis's KillEtcd: dcs-server SIGKILLed, `up` heals):
        // etcd forgot every login token, so agents and poolers must log in again to converge and write.
        await new Nemesis(cluster, seed: 12, output.WriteLine).RunAsync([new NemesisStep(NemesisFault.KillEtcd, 1, TimeSpan.FromSeconds(2))]);
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(90));
        Assert.Equal(0, (await cluster.RunAsync("pause")).ExitCode);
        Assert.Equal(0, (await cluster.RunAsync("resume")).ExitCode);

        // Pooler pgb2 again, now from the pooler export alone (no superuser password on its host).
        var host = Path.Combine(cluster.Dir, "host-pgb2");
        var export = await cluster.RunAsync("secrets", "export", "--role", "pooler", "--name", "pgb2", "--output", host);
        Assert.True(export.ExitCode == 0, export.ToString());
        output.WriteLine(export.Stdout);
        Assert.Equal(["cluster.yaml", "secrets.yaml"], Directory.GetFiles(host).Select(Path.GetFileName).Order());
        var exported = string.Join('\n', Directory.GetFiles(host).Select(File.ReadAllText));
        foreach (var key in new[] { "superuser_password", "replication_password", "app_password", "api_token", "etcd_root_password", "etcd_agent_password" })
        {
            Assert.DoesNotContain(Secret(key), exported);
        }
        File.SetUnixFileMode(host, (UnixFileMode)0b111_001_001); // 0711, as /etc/pgwarden would be: PgBouncer (postgres) enters it

        await StopByPidFileAsync(Path.Combine(cluster.Dir, "poolers", "pgb2", "pooler.pid"));
        var poolerLog = Path.Combine(cluster.Dir, "logs", "pooler-pgb2-export.log");
        var pooler = StartPooler(Path.Combine(host, "cluster.yaml"), "pgb2", poolerLog);
        try
        {
            output.WriteLine($"pooler from the export: PID {pooler}, log {poolerLog}");
            // The etcd kill may have moved the leadership (pg2 lost its lease while etcd was down).
            var leader = await cluster.LeaderAsync() ?? throw new InvalidOperationException("no leader");
            var primary = await TestCluster.WaitForAsync(async () =>
            {
                await using var conn = cluster.ThroughPooler(2);
                await conn.OpenAsync();
                await using var cmd = new NpgsqlCommand("SELECT NOT pg_is_in_recovery() AND inet_server_addr() = @leader", conn);
                cmd.Parameters.AddWithValue("leader", System.Net.IPAddress.Parse(cluster.Address(int.Parse(leader[2..]))));
                return await cmd.ExecuteScalarAsync() is true ? (bool?)true : null;
            }, TimeSpan.FromSeconds(30), $"a write route through pgb2 (pooler export only) to the primary {leader}");
            Assert.True(primary);
        }
        finally
        {
            output.WriteLine(File.Exists(poolerLog) ? File.ReadAllText(poolerLog) : "(no pooler log)");
            var bouncerLog = Path.Combine(host, "poolers", "pgb2", "pgbouncer.log");
            output.WriteLine(File.Exists(bouncerLog) ? string.Join('\n', File.ReadLines(bouncerLog).TakeLast(20)) : "(no pgbouncer log)");
            Process.Start("/bin/kill", ["-TERM", pooler.ToString()])?.WaitForExit();
            await WaitGoneAsync(pooler);
            await StopByPidFileAsync(Path.Combine(host, "poolers", "pgb2", "run", "pgbouncer.pid"));
        }
    }

    [Fact]
    public async Task A_cluster_from_before_etcd_authentication_starts_and_gets_it()
    {
        await using var cluster = new TestCluster(subnet: 201);
        await cluster.UpAsync();
        Assert.Equal(0, (await cluster.RunAsync("down")).ExitCode);

        // Make it what an older PgWarden left: an etcd without authentication, a secrets file without etcd passwords.
        var secretsFile = Path.Combine(cluster.Dir, "secrets.yaml");
        var lines = File.ReadAllLines(secretsFile);
        string Secret(string key) => lines.First(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(':', 2)[1].Trim().Trim('"');
        var endpoint = $"http://{cluster.Address(1)}:2479";
        var etcd = Process.Start(new ProcessStartInfo("/usr/bin/etcd",
            ["--name", $"it{cluster.Subnet}", "--data-dir", Path.Combine(cluster.Dir, "etcd"), "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
             "--listen-peer-urls", $"http://{cluster.Address(1)}:2480", "--initial-advertise-peer-urls", $"http://{cluster.Address(1)}:2480"])
        { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            _ = etcd.StandardError.ReadToEndAsync();
            _ = etcd.StandardOutput.ReadToEndAsync();
            var disabled = await TestCluster.WaitForAsync(async () =>
            {
                var r = await EtcdctlAsync(endpoint, "root", Secret("etcd_root_password"), "auth", "disable");
                return r.ExitCode == 0 ? r : null;
            }, TimeSpan.FromSeconds(20), "etcdctl auth disable");
            Assert.Equal(0, (await EtcdctlAsync(endpoint, null, null, "put", "/anything", "x")).ExitCode);
        }
        finally
        {
            etcd.Kill();
            await etcd.WaitForExitAsync();
        }
        File.WriteAllLines(secretsFile, lines.Where(l => !l.StartsWith("etcd_", StringComparison.Ordinal)));
        File.SetUnixFileMode(secretsFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var up = await cluster.UpAsync();
        Assert.Contains("added etcd passwords", up.Stdout);
        await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
        var upgraded = File.ReadAllLines(secretsFile);
        Assert.Contains(upgraded, l => l.StartsWith("etcd_root_password:", StringComparison.Ordinal));
        // The upgraded cluster's etcd speaks TLS now, on the same data directory.
        _ca = cluster.CaFile;
        var anonymous = await EtcdctlAsync(endpoint.Replace("http://", "https://"), null, null, "put", $"/pgwarden/it{cluster.Subnet}/leader", "pg9");
        Assert.Contains("user name is empty", anonymous.Stderr);
        Assert.Equal(0, (await cluster.RunAsync("pause")).ExitCode);
        Assert.Equal(0, (await cluster.RunAsync("resume")).ExitCode);
    }

    /// <summary>The CA etcdctl verifies an https endpoint with.</summary>
    private string? _ca;

    /// <summary>etcdctl with the password in the environment (ETCDCTL_USER/ETCDCTL_PASSWORD), never on its command line.</summary>
    private async Task<CliResult> EtcdctlAsync(string endpoint, string? user, string? password, params string[] args)
    {
        var psi = new ProcessStartInfo(Etcdctl) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--endpoints");
        psi.ArgumentList.Add(endpoint);
        psi.ArgumentList.Add("--command-timeout=5s");
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["ETCDCTL_API"] = "3";
        if (endpoint.StartsWith("https://", StringComparison.Ordinal))
        {
            psi.Environment["ETCDCTL_CACERT"] = _ca;
        }
        if (user is not null)
        {
            psi.Environment["ETCDCTL_USER"] = user;
            psi.Environment["ETCDCTL_PASSWORD"] = password;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }

    private static int StartPooler(string config, string name, string log)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec setsid \"$0\" \"$@\" </dev/null >>\"$PGWARDEN_DAEMON_LOG\" 2>&1");
        psi.ArgumentList.Add(PgWardenCli.Binary);
        foreach (var a in new[] { "pooler", "--config", config, "--name", name })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PGWARDEN_DAEMON_LOG"] = log;
        using var p = Process.Start(psi)!;
        return p.Id;
    }

    private static async Task StopByPidFileAsync(string pidFile)
    {
        if (TestCluster.ReadPid(pidFile) is { } pid && TestCluster.IsRunning(pid))
        {
            Process.Start("/bin/kill", ["-TERM", pid.ToString()])?.WaitForExit();
            await WaitGoneAsync(pid);
        }
    }

    private static async Task WaitGoneAsync(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (TestCluster.IsRunning(pid) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        if (TestCluster.IsRunning(pid))
        {
            Process.Start("/bin/kill", ["-KILL", pid.ToString()])?.WaitForExit();
        }
    }
}
