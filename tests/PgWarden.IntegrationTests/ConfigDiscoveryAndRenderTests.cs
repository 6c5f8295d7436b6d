using System.Diagnostics;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Issue 13 items 6 and 9 through the real binary: configuration found the same way by every command
/// (the current directory, PGWARDEN_CONFIG), `config check` listing every problem with its line,
/// `tune` computing for the cluster's hardware, `config render` printing exactly the files the agent
/// wrote, and /metrics exporting PostgreSQL's counters as counters with postgres_exporter's slot labels.
/// </summary>
public sealed class ConfigDiscoveryAndRenderTests
{
    /// <summary>Runs pgwarden in <paramref name="cwd"/> with PGWARDEN_CONFIG set to <paramref name="configVariable"/> (or unset).</summary>
    private static async Task<CliResult> RunInAsync(string cwd, string? configVariable, params string[] args)
    {
        var psi = new ProcessStartInfo(PgWardenCli.Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = cwd,
        };
        psi.Environment.Remove("PGWARDEN_CONFIG");
        if (configVariable is not null)
        {
            psi.Environment["PGWARDEN_CONFIG"] = configVariable;
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(cts.Token);
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task CommandsFindTheConfigurationAndConfigCheckListsEveryProblem()
    {
        var dir = Directory.CreateTempSubdirectory("pgwarden-discovery-").FullName;
        try
        {
            // Nothing anywhere (no /etc/pgwarden on a test machine): the error names every place tried.
            var none = await RunInAsync(dir, null, "status");
            Assert.Equal(3, none.ExitCode);
            Assert.Contains("no cluster configuration found (tried: --config, --dir, PGWARDEN_CONFIG (not set)", none.Stderr);
            Assert.Contains(Path.Combine(dir, "cluster.yaml"), none.Stderr);

            // ./cluster.yaml with three problems: all listed, each at its line.
            File.WriteAllText(Path.Combine(dir, "cluster.yaml"), """
                cluster: shop
                nodes:
                  - name: pg1
                    address: 127.0.160.1
                    port: 70000
                    api_port: 8008
                    prio: 2
                dcs: { ttl: abc }
                """);
            var check = await RunInAsync(dir, null, "config", "check");
            Assert.True(check.ExitCode == 3, check.ToString());
            var lines = check.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(4, lines.Length);
            Assert.StartsWith($"pgwarden: error: {dir}/cluster.yaml:5:11: nodes[0].port: 70000 is out of range", lines[0]);
            Assert.StartsWith($"pgwarden: error: {dir}/cluster.yaml:7:5: nodes[0].prio: unknown key", lines[1]);
            Assert.StartsWith($"pgwarden: error: {dir}/cluster.yaml:8:13: dcs.ttl: 'abc' is not a whole number", lines[2]);
            Assert.Equal($"pgwarden: error: 3 problems in {dir}/cluster.yaml", lines[3]);

            // A valid ./cluster.yaml: tune computes for its hardware and max_connections.
            File.WriteAllText(Path.Combine(dir, "cluster.yaml"), """
                cluster: shop
                postgres: { max_connections: 150 }
                hardware: { ram: 8GB, cpus: 2, storage: hdd }
                nodes:
                  - { name: pg1, address: 127.0.160.1, port: 5532, api_port: 8008 }
                """);
            var tune = await RunInAsync(dir, null, "tune", "--conf");
            Assert.True(tune.ExitCode == 0, tune.ToString());
            Assert.Contains("2 CPUs, HDD, 150 connections (cluster shop)", tune.Stdout);
            Assert.Contains("shared_buffers = 2GB", tune.Stdout);

            // PGWARDEN_CONFIG comes before ./cluster.yaml, and one that names a missing file is an error, not a fallback.
            var other = Path.Combine(dir, "other.yaml");
            File.WriteAllText(other, File.ReadAllText(Path.Combine(dir, "cluster.yaml")).Replace("cluster: shop", "cluster: other").Replace("max_connections: 150", "max_connections: 300"));
            var fromVariable = await RunInAsync(dir, other, "tune", "--conf");
            Assert.Contains("300 connections (cluster other)", fromVariable.Stdout);
            var missing = await RunInAsync(dir, Path.Combine(dir, "missing.yaml"), "tune");
            Assert.Equal(3, missing.ExitCode);
            Assert.Contains($"configuration file {dir}/missing.yaml (from PGWARDEN_CONFIG) does not exist", missing.Stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task RenderPrintsWhatTheAgentWroteAndMetricsAreTyped()
    {
        await using var cluster = new TestCluster(subnet: 160);
        await cluster.UpAsync();

        // config render --node pg1 prints the files pg1's agent wrote (pg1 bootstrapped: a primary, no upstream).
        var render = await cluster.RunAsync("config", "render", "--node", "pg1");
        Assert.True(render.ExitCode == 0, render.ToString());
        var sections = render.Stdout.Split("# ===== ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, sections.Length);
        foreach (var section in sections)
        {
            var header = section[..section.IndexOf('\n')];
            var path = header[..header.LastIndexOf(" =====", StringComparison.Ordinal)];
            var printed = section[(header.Length + 1)..^1];
            Assert.Equal(File.ReadAllText(path), printed);
        }
        Assert.EndsWith("pg_ident.conf =====", sections[2][..sections[2].IndexOf('\n')]);

        // A parameter set cluster-wide with `config apply` lives in the DCS; render asks the running
        // cluster for it, so it still prints what the agent wrote (it lacked it before), and --offline does not.
        var apply = await cluster.RunAsync("config", "apply", "--set", "work_mem=24MB", "--yes");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var conf = Path.Combine(cluster.DataDir(1), "postgresql.conf");
        await TestCluster.WaitForAsync(() => Task.FromResult(File.ReadAllText(conf).Contains("24MB") ? (object)true : null), TimeSpan.FromSeconds(30), "pg1's agent to write work_mem");
        var withDcs = await cluster.RunAsync("config", "render", "--node", "pg1");
        Assert.True(withDcs.ExitCode == 0, withDcs.ToString());
        Assert.Contains(File.ReadAllText(conf), withDcs.Stdout);
        var offline = await cluster.RunAsync("config", "render", "--node", "pg1", "--offline");
        Assert.DoesNotContain("24MB", offline.Stdout);

        var text = await TestCluster.WaitForAsync(async () =>
        {
            var (status, t) = await cluster.ApiGetAsync(1, "/metrics");
            return status == 200 && t.Contains("slot_name=\"pg3_slot\"", StringComparison.Ordinal) ? t : null;
        }, TimeSpan.FromSeconds(30), "slot metrics of pg3_slot");
        Assert.Contains("# TYPE pg_stat_database_xact_commit_total counter\n", text);
        Assert.Contains("# TYPE pg_stat_archiver_archived_count_total counter\n", text);
        Assert.Contains("pg_replication_slots_active{slot_name=\"pg2_slot\",database=\"\"} 1\n", text);
        Assert.Contains("pg_replication_slots_slot_is_active{slot_name=\"pg2_slot\",slot_type=\"physical\"} 1\n", text);
        Assert.Matches("pg_stat_database_xact_commit_total\\{datname=\"bookreader\"\\} [1-9]", text);
    }
}
