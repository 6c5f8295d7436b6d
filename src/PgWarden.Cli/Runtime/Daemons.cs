using System.Diagnostics;
using PgWarden.Core.Config;
using PgWarden.Postgres.Os;
using PgWarden.Core.Processes;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// The background processes of a local cluster (one agent per node, one steering process per
/// PgBouncer): started detached with their output in a log file, found again through the PID
/// files they write, stopped by PID.
/// </summary>
public static class Daemons
{
    public sealed record Daemon(string Kind, string Name, string PidFile, string LogFile, string[] Arguments)
    {
        public int? Pid => File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), out var pid) ? pid : null;

        /// <summary>Alive, and really a pgwarden process (not a recycled PID).</summary>
        public bool IsRunning => Pid is { } pid && Libc.IsAlive(pid) && IsPgWarden(pid);
    }

    public static IReadOnlyList<Daemon> All(ClusterConfig cluster, string configPath)
    {
        var list = new List<Daemon>();
        if (cluster.Dcs.Embedded)
        {
            list.Add(new Daemon("etcd", cluster.Name, Path.Combine(cluster.BaseDir, "etcd.pid"), Path.Combine(cluster.BaseDir, "logs", "dcs-server.log"),
                ["dcs-server", "--config", configPath]));
        }
        foreach (var n in cluster.Nodes)
        {
            var home = n.HomeDir(cluster);
            list.Add(new Daemon("agent", n.Name, Path.Combine(home, "agent.pid"), Path.Combine(cluster.BaseDir, "logs", $"agent-{n.Name}.log"),
                ["agent", "--config", configPath, "--node", n.Name]));
        }
        foreach (var p in cluster.Poolers)
        {
            var home = p.HomeDir(cluster);
            list.Add(new Daemon("pooler", p.Name, Path.Combine(home, "pooler.pid"), Path.Combine(cluster.BaseDir, "logs", $"pooler-{p.Name}.log"),
                ["pooler", "--config", configPath, "--name", p.Name]));
        }
        return list;
    }

    public static int Start(Daemon daemon)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(daemon.LogFile)!);
        var (exe, prefix) = SelfCommand();
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec setsid \"$0\" \"$@\" </dev/null >>\"$PGWARDEN_DAEMON_LOG\" 2>&1");
        psi.ArgumentList.Add(exe);
        foreach (var a in prefix.Concat(daemon.Arguments))
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PGWARDEN_DAEMON_LOG"] = daemon.LogFile;
        using var p = Process.Start(psi)!;
        return p.Id;
    }

    /// <summary>How to run this same program again: the apphost, or `dotnet pgwarden.dll`.</summary>
    public static (string Exe, string[] Prefix) SelfCommand()
    {
        var exe = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(exe) == "dotnet"
            ? (exe, [typeof(Daemons).Assembly.Location])
            : (exe, []);
    }

    /// <summary>SIGTERM every running daemon, then wait until all have exited.</summary>
    public static async Task<IReadOnlyList<Daemon>> StopAsync(IEnumerable<Daemon> daemons, TimeSpan timeout, Action<string> progress)
    {
        var running = daemons.Where(d => d.IsRunning).Select(d => (d, pid: d.Pid!.Value)).ToList();
        foreach (var (d, pid) in running)
        {
            progress($"stopping {d.Kind} {d.Name} (PID {pid})");
            Libc.Kill(pid, Libc.SIGTERM);
        }
        var deadline = DateTime.UtcNow + timeout;
        while (running.Any(r => Libc.IsAlive(r.pid)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        return running.Where(r => Libc.IsAlive(r.pid)).Select(r => r.d).ToList();
    }

    private static bool IsPgWarden(int pid)
    {
        try
        {
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmdline.Contains("pgwarden", StringComparison.Ordinal) || cmdline.Contains("PgWarden", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
