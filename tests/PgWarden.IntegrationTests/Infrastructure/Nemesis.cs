using System.Diagnostics;
using System.Text;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>The faults the nemesis combines (TESTING.md, "Faults to combine").</summary>
public enum NemesisFault
{
    KillAgent,
    StopAgent,
    KillPostmaster,
    StopPostmaster,
    KillEtcd,
    StopEtcd,
    PartitionFromEtcd,
    IsolateNode,
    PostgresUnreachable,
    Switchover,
    Failover,
    PauseResume,
    Reinit,
    RestartAgentsInAnyOrder,
}

/// <summary>One fault of a schedule: what, on which node (1-based), held for how long.</summary>
public sealed record NemesisStep(NemesisFault Fault, int Node, TimeSpan Hold)
{
    public override string ToString() => $"{Fault} pg{Node} for {Hold.TotalSeconds:0.0} s";
}

/// <summary>
/// A random fault schedule on a real cluster, in the spirit of Jepsen: a seed gives the same
/// schedule again (<c>PGWARDEN_NEMESIS_SEED</c>). Each fault is injected at a random moment of the
/// HA loop, held, and healed (processes continued or restarted, iptables rules removed) — also
/// when the test fails. The loopback subnet's .9 is etcd, .5 the PgBouncers, so a node can be cut
/// from etcd (its agent connects from its own address) or made unreachable.
/// </summary>
public sealed class Nemesis(TestCluster cluster, int seed, Action<string> log)
{
    private readonly Random _random = new(seed);
    private readonly List<Func<Task>> _heals = [];

    public int Seed => seed;

    /// <summary>The schedule this seed gives: <paramref name="steps"/> faults.</summary>
    public IReadOnlyList<NemesisStep> Schedule(int steps, TimeSpan maxHold)
    {
        var faults = Enum.GetValues<NemesisFault>();
        return [.. Enumerable.Range(0, steps).Select(_ => new NemesisStep(
            faults[_random.Next(faults.Length)], _random.Next(1, cluster.NodeCount + 1),
            TimeSpan.FromMilliseconds(_random.Next(2000, (int)maxHold.TotalMilliseconds))))];
    }

    /// <summary>Runs the schedule: each fault after a random part of a loop period, held, then healed.</summary>
    public async Task RunAsync(IReadOnlyList<NemesisStep> schedule)
    {
        foreach (var step in schedule)
        {
            await Task.Delay(_random.Next(0, 1000));
            log($"nemesis: {step}");
            try
            {
                await InjectAsync(step);
                await Task.Delay(step.Hold);
            }
            finally
            {
                await HealAsync();
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }

    /// <summary>Undoes every fault still in place (newest first); safe to call twice.</summary>
    public async Task HealAsync()
    {
        var heals = _heals.AsEnumerable().Reverse().ToList();
        _heals.Clear();
        foreach (var heal in heals)
        {
            try
            {
                await heal();
            }
            catch (Exception e)
            {
                log($"nemesis: healing failed: {e.Message}");
            }
        }
    }

    private string Etcd => $"127.0.{cluster.Subnet}.9";

    private async Task InjectAsync(NemesisStep step)
    {
        var node = step.Node;
        switch (step.Fault)
        {
            case NemesisFault.KillAgent:
                if (AgentPid(node) is { } agent)
                {
                    TestCluster.Signal(agent, 9);
                    _heals.Add(() => RestartAgentAsync(node));
                }
                break;
            case NemesisFault.StopAgent:
                StopContinue(AgentPid(node));
                break;
            case NemesisFault.KillPostmaster:
                if (cluster.PostmasterPid(node) is { } pm && TestCluster.IsRunning(pm))
                {
                    TestCluster.Signal(pm, 9);
                }
                break;
            case NemesisFault.StopPostmaster:
                StopContinue(cluster.PostmasterPid(node));
                break;
            case NemesisFault.KillEtcd:
                if (TestCluster.ReadPid(Path.Combine(cluster.Dir, "etcd.pid")) is { } dcs)
                {
                    TestCluster.Signal(dcs, 9);
                    _heals.Add(async () => await cluster.RunAsync("up", "--timeout", "5"));
                }
                break;
            case NemesisFault.StopEtcd:
                StopContinue(EtcdProcess());
                break;
            case NemesisFault.PartitionFromEtcd:
                await RuleAsync(["OUTPUT", "-s", cluster.Address(node), "-d", Etcd, "-j", "DROP"]);
                break;
            case NemesisFault.IsolateNode:
                await RuleAsync(["OUTPUT", "-s", cluster.Address(node), "-d", Etcd, "-j", "DROP"]);
                await RuleAsync(["OUTPUT", "-d", cluster.Address(node), "-p", "tcp", "--dport", TestCluster.PgPort.ToString(), "-j", "DROP"]);
                break;
            case NemesisFault.PostgresUnreachable:
                // Asymmetric: its agent still reaches etcd, but nobody reaches its PostgreSQL.
                await RuleAsync(["OUTPUT", "-d", cluster.Address(node), "-p", "tcp", "--dport", TestCluster.PgPort.ToString(), "-j", "DROP"]);
                break;
            case NemesisFault.Switchover:
                _ = cluster.RunAsync("switchover", "--to", cluster.NodeName(node), "--yes", "--timeout", "15");
                break;
            case NemesisFault.Failover:
                _ = cluster.RunAsync("failover", "--to", cluster.NodeName(node), "--yes", "--timeout", "15");
                break;
            case NemesisFault.PauseResume:
                await cluster.RunAsync("pause");
                _heals.Add(async () => await cluster.RunAsync("resume"));
                break;
            case NemesisFault.Reinit:
                await cluster.RunAsync("reinit", cluster.NodeName(node), "--yes");
                break;
            case NemesisFault.RestartAgentsInAnyOrder:
                var order = Enumerable.Range(1, cluster.NodeCount).OrderBy(_ => _random.Next()).ToList();
                foreach (var n in order)
                {
                    if (AgentPid(n) is { } pid)
                    {
                        TestCluster.Signal(pid, 9);
                    }
                }
                log($"nemesis: restarting the agents in the order {string.Join(", ", order.Select(cluster.NodeName))}");
                _heals.Add(async () =>
                {
                    foreach (var n in order)
                    {
                        await RestartAgentAsync(n);
                        await Task.Delay(_random.Next(500, 4000));
                    }
                });
                break;
        }
    }

    private int? AgentPid(int node)
    {
        var pid = TestCluster.ReadPid(Path.Combine(cluster.Dir, "nodes", cluster.NodeName(node), "agent.pid"));
        return pid is { } p && TestCluster.IsRunning(p) ? p : null;
    }

    private async Task RestartAgentAsync(int node)
    {
        if (AgentPid(node) is null)
        {
            cluster.StartAgent(node);
            await Task.Delay(200);
        }
    }

    private void StopContinue(int? pid)
    {
        if (pid is { } p && TestCluster.IsRunning(p))
        {
            TestCluster.Signal(p, 19);
            _heals.Add(() =>
            {
                TestCluster.Signal(p, 18);
                return Task.CompletedTask;
            });
        }
    }

    /// <summary>The etcd server process (the child of the dcs-server daemon).</summary>
    private int? EtcdProcess()
    {
        var dcs = TestCluster.ReadPid(Path.Combine(cluster.Dir, "etcd.pid"));
        return dcs is null ? null : Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .FirstOrDefault(pid => pid > 0 && ParentOf(pid) == dcs && Cmdline(pid).Contains("etcd", StringComparison.Ordinal));
    }

    private static int ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static string Cmdline(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private async Task RuleAsync(string[] rule)
    {
        await Iptables("-I", rule);
        _heals.Add(() => Iptables("-D", rule));
    }

    public static async Task Iptables(string action, string[] rule)
    {
        using var p = Process.Start(new ProcessStartInfo("iptables", ["-w", action, .. rule]) { RedirectStandardError = true })!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"iptables {action} {string.Join(' ', rule)}: {err}");
        }
    }

    /// <summary>Appends a schedule's outcome to the report file named by PGWARDEN_NEMESIS_REPORT (bench/nemesis.sh).</summary>
    public static void Report(string line)
    {
        if (Environment.GetEnvironmentVariable("PGWARDEN_NEMESIS_REPORT") is { Length: > 0 } file)
        {
            File.AppendAllText(file, line + "\n", new UTF8Encoding(false));
        }
    }
}
