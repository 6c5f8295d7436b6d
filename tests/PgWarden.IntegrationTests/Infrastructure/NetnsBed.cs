using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// A multi-host cluster in Linux network namespaces (issue 12, item 1): each node (PostgreSQL and
/// its agent), each PgBouncer (with its pooler) and each of the three etcd members in a namespace of
/// its own, with its own 198.18.NET.x address on a bridge that lives in a dedicated "switch"
/// namespace. The test process reaches every host from the root namespace through one veth
/// (198.18.NET.254, the "client" host). Built and torn down by <c>bench/lib/netns.sh</c> (the same
/// script bench/failover-netns.sh uses); partitions are iptables rules inside the bed's own
/// namespaces, so they cut links, not processes, and vanish with the namespaces.
/// Direct superuser connections go through each node's Unix socket (peer authentication): they see
/// whether a node accepts writes whatever the network cut, which is the strictest view for the
/// fence probe (pg_hba admits the superuser over TCP only from the cluster's own nodes).
/// </summary>
public sealed class NetnsBed : IProbeTarget, IAsyncDisposable
{
    public const int PgPort = 5432;
    public const int PoolerPort = 6432;

    /// <param name="synchronous">synchronous_mode of the cluster.</param>
    public NetnsBed(bool synchronous)
    {
        Synchronous = synchronous;
        Id = Environment.ProcessId;
        Net = 1 + Id % 250;
        Dir = Path.Combine(Path.GetTempPath(), $"pgwn-{Id}-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(Dir);
    }

    public static string Script => Path.Combine(PgWardenCli.RepoRoot, "bench", "lib", "netns.sh");

    /// <summary>The bed's id: the namespaces are pgwn-ID-*, the root namespace's veth pgwnID.</summary>
    public int Id { get; }

    /// <summary>The third octet of the bed's network 198.18.NET.0/24.</summary>
    public int Net { get; }

    public string Dir { get; }

    public bool Synchronous { get; }

    public string ConfigFile => Path.Combine(Dir, "cluster.yaml");

    public int NodeCount => 3;

    public string NodeName(int node) => $"pg{node}";

    /// <summary>A host's address: n1..n3 (nodes), e1..e3 (etcd members), p1, p2 (PgBouncers), client (the test process).</summary>
    public string Address(string host) => host switch
    {
        ['n', var k] => $"198.18.{Net}.{k}",
        ['e', var k] => $"198.18.{Net}.1{k}",
        ['p', var k] => $"198.18.{Net}.2{k}",
        "client" => $"198.18.{Net}.254",
        _ => throw new ArgumentException($"unknown host '{host}'", nameof(host)),
    };

    /// <summary>Creates the namespaces, starts the 3 etcd members, 3 agents and 2 poolers, and waits until `pgwarden status` says healthy.</summary>
    public async Task StartAsync(TimeSpan timeout)
    {
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("the network-namespace bed needs root (ip netns, iptables); run the integration tests as root");
        }
        await RunScriptAsync("up", Net.ToString(), Synchronous ? "true" : "false", PgWardenCli.Binary);
        await TestCluster.WaitForAsync(async () => (await CliAsync("status")).ExitCode == 0 ? (object)true : null, timeout, "a healthy cluster in the namespace bed")
            .ContinueWith(t => t.IsFaulted ? throw new TimeoutException($"{t.Exception!.InnerException!.Message}\n{Logs()}") : t.Result);
    }

    public string SocketDir(int node) => Path.Combine(Dir, "nodes", NodeName(node), "run");

    /// <inheritdoc />
    public NpgsqlConnection Direct(int node, string database = "bookreader") => new(new NpgsqlConnectionStringBuilder
    {
        Host = SocketDir(node), Port = PgPort, Username = "postgres", Database = database, Timeout = 2, CommandTimeout = 5, Pooling = false,
    }.ConnectionString);

    /// <inheritdoc />
    public NpgsqlConnection ThroughPooler(int pooler, string database = "bookreader") => new(new NpgsqlConnectionStringBuilder
    {
        Host = Address($"p{pooler}"), Port = PoolerPort, Username = "bookreader_app", Password = AppPassword(),
        Database = database, Timeout = 5, CommandTimeout = 30, Pooling = false,
    }.ConnectionString);

    private string AppPassword() => File.ReadLines(Path.Combine(Dir, "secrets.yaml"))
        .First(l => l.StartsWith("app_password:", StringComparison.Ordinal)).Split(':', 2)[1].Trim().Trim('"');

    /// <summary>Cuts <paramref name="host"/>'s links to each of <paramref name="peers"/>, both directions (iptables in <paramref name="host"/>'s namespace).</summary>
    public Task CutAsync(string host, params string[] peers) => RunScriptAsync(["cut", host, .. peers]);

    /// <summary>Cuts <paramref name="host"/> from everything: etcd, the other nodes, the PgBouncers and the test process.</summary>
    public Task IsolateAsync(string host) => RunScriptAsync("isolate", host);

    /// <summary>Removes every cut (flushes the iptables chains of the bed's own namespaces).</summary>
    public Task HealAsync() => RunScriptAsync("heal");

    /// <summary>Runs the CLI against this cluster from the root namespace.</summary>
    public Task<CliResult> CliAsync(params string[] args) => PgWardenCli.RunAsync(args.Concat(["--config", ConfigFile]), TimeSpan.FromSeconds(60));

    /// <summary>The etcd member (e1..e3) that is etcd's raft leader now, as the members reachable from the test process report it.</summary>
    public async Task<string> EtcdLeaderAsync()
    {
        var endpoints = string.Join(',', new[] { "e1", "e2", "e3" }.Select(e => $"http://{Address(e)}:2379"));
        var status = await RunAsync("etcdctl", ["--endpoints", endpoints, "--dial-timeout", "2s", "--command-timeout", "3s", "endpoint", "status", "-w", "json"], new() { ["ETCDCTL_API"] = "3" });
        var leaderId = JsonDocument.Parse(status).RootElement.EnumerateArray().Select(e => e.GetProperty("Status").GetProperty("leader").GetUInt64()).First(l => l != 0);
        foreach (var member in JsonDocument.Parse(status).RootElement.EnumerateArray())
        {
            if (member.GetProperty("Status").GetProperty("header").GetProperty("member_id").GetUInt64() == leaderId)
            {
                var url = member.GetProperty("Endpoint").GetString()!;
                return new[] { "e1", "e2", "e3" }.First(e => url.Contains(Address(e) + ":", StringComparison.Ordinal));
            }
        }
        throw new InvalidOperationException($"no reachable etcd member is the leader {leaderId:x}: {status}");
    }

    /// <summary>Drops the probe tables (through PgBouncer) so a new <see cref="WriteProbe"/>/<see cref="FenceProbe"/> starts from id 1.</summary>
    public async Task ResetProbeTablesAsync()
    {
        await using var conn = ThroughPooler(1);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("DROP TABLE IF EXISTS probe; DROP TABLE IF EXISTS fence_probe", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>The last <paramref name="lines"/> lines of every agent's, pooler's and etcd member's log.</summary>
    public string Logs(int lines = 15)
    {
        var logs = Path.Combine(Dir, "logs");
        return Directory.Exists(logs)
            ? string.Join('\n', Directory.GetFiles(logs).Order().Select(f => $"--- {Path.GetFileName(f)} ---\n{string.Join('\n', File.ReadLines(f).TakeLast(lines))}"))
            : "(no logs)";
    }

    private Task RunScriptAsync(params string[] args) => RunAsync(Script, [args[0], Dir, Id.ToString(), .. args[1..]]);

    private static async Task<string> RunAsync(string file, IEnumerable<string> args, Dictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env ?? [])
        {
            psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await p.WaitForExitAsync(cts.Token);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', psi.ArgumentList)} exited with {p.ExitCode}: {await stderr}");
        }
        return await stdout;
    }

    /// <summary>Stops every process of the bed by PID and deletes its namespaces and veth (also after a failed start).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunScriptAsync("down");
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("PGWARDEN_KEEP_TEST_DIRS") != "1")
            {
                try
                {
                    Directory.Delete(Dir, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }
}
