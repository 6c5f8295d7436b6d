using System.Diagnostics;
using PgWarden.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgWarden.IntegrationTests;

/// <summary>
/// The embedded etcd's unit (`install --role etcd` with dcs.embedded) runs as the unprivileged etcd user,
/// and what the unit says is enough for `pgwarden dcs-server` to run that way: the generated unit passes
/// `systemd-analyze verify`, its tmpfiles.d rules are applied to a root-owned cluster directory (with a
/// space in its path), its LoadCredential= files are handed over as systemd would (a private directory in
/// $CREDENTIALS_DIRECTORY, owned by the unit's user, mode 0400), and dcs-server is started with the unit's
/// User=/Group= (setpriv) — twice, to show a restart finds its files again. etcd listens on 127.0.242.1.
/// </summary>
public sealed class EmbeddedEtcdUnitTests(ITestOutputHelper output) : IDisposable
{
    private const int Subnet = 242;

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"pgwarden-etcdunit-{Guid.NewGuid():N}"[..38]);

    private string ConfigDir => Path.Combine(_root, "etc pg");

    private string Config => Path.Combine(ConfigDir, "cluster.yaml");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DcsServerRunsAsTheEtcdUserWithWhatItsUnitGivesIt(bool tls)
    {
        if (!File.ReadLines("/etc/passwd").Any(l => l.StartsWith("etcd:", StringComparison.Ordinal)) || !File.Exists("/usr/bin/systemd-tmpfiles") || !File.Exists("/usr/bin/setpriv"))
        {
            output.WriteLine("skipped: needs the etcd user (package etcd-server), systemd-tmpfiles and setpriv");
            return;
        }
        Directory.CreateDirectory(ConfigDir);
        File.SetUnixFileMode(_root, (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(ConfigDir, (UnixFileMode)Convert.ToInt32("755", 8));
        File.WriteAllText(Config, $"cluster: it{Subnet}\n{(tls ? "" : "tls: disabled\n")}hardware: {{ ram: 1GB, cpus: 2, storage: ssd }}\nnodes:\n  - {{ name: pg1, address: 127.0.{Subnet}.1, port: 5432, api_port: 8008 }}\n");
        var cluster = Core.Config.ConfigLoader.Parse(File.ReadAllText(Config), Config, ConfigDir);
        if (tls)
        {
            // With TLS (the default) the embedded etcd serves https with node pg1's certificate; its key is root's, 0600.
            Core.Tls.ClusterCertificates.EnsureGenerated(cluster, null, DateTimeOffset.UtcNow);
        }
        var secrets = new Core.Security.ClusterSecrets("su-pw-1234", "repl-pw-1234", "app-pw-1234", "admin-pw-1234", "token-1234").WithEtcdPasswords();
        secrets.Save(Path.Combine(ConfigDir, "secrets.yaml"));

        var outDir = Path.Combine(_root, "out");
        var install = await PgWardenCli.RunAsync("install", "--role", "etcd", "--name", $"it{Subnet}", "--config", Config, "--output", outDir);
        Assert.True(install.ExitCode == 0, $"exit {install.ExitCode}: {install.Stderr}");
        var unitPath = Path.Combine(outDir, $"pgwarden-etcd-it{Subnet}.service");
        var unit = File.ReadAllLines(unitPath);
        string[] Values(string key) => [.. unit.Where(l => l.StartsWith(key + "=", StringComparison.Ordinal)).Select(l => l[(key.Length + 1)..])];
        Assert.Equal(["etcd"], Values("User"));
        Assert.Equal(["etcd"], Values("Group"));
        Assert.Equal(tls ? 2 : 1, Values("LoadCredential").Length);
        var verify = await RunAsync("/usr/bin/systemd-analyze", "verify", unitPath);
        Assert.True(verify.Code == 0 && verify.Output.Trim().Length == 0, $"systemd-analyze verify: exit {verify.Code}: {verify.Output}");

        var tmpfiles = await RunAsync("/usr/bin/systemd-tmpfiles", "--create", Path.Combine(outDir, $"pgwarden-etcd-it{Subnet}.tmpfiles.conf"));
        Assert.True(tmpfiles.Code == 0, $"systemd-tmpfiles: exit {tmpfiles.Code}: {tmpfiles.Output}");

        // LoadCredential=ID:PATH as systemd does it: PATH read as root, copied into a directory of the unit's user.
        var credentials = Path.Combine(_root, "credentials");
        Directory.CreateDirectory(credentials);
        foreach (var entry in Values("LoadCredential"))
        {
            var (id, path) = (entry[..entry.IndexOf(':')], entry[(entry.IndexOf(':') + 1)..].Replace("%%", "%"));
            File.Copy(path, Path.Combine(credentials, id));
            Assert.Equal(0, (await RunAsync("/usr/bin/chown", "etcd:etcd", Path.Combine(credentials, id))).Code);
            File.SetUnixFileMode(Path.Combine(credentials, id), UnixFileMode.UserRead);
        }
        Assert.Equal(0, (await RunAsync("/usr/bin/chown", "etcd:etcd", credentials)).Code);
        File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserExecute);

        await RunOnceAsync(credentials);
        await RunOnceAsync(credentials);

        // The secrets file never changed hands; etcd owns its data, root the cluster directory.
        Assert.Equal("root 600", (await RunAsync("/usr/bin/stat", "-c", "%U %a", Path.Combine(ConfigDir, "secrets.yaml"))).Output.Trim());
        if (tls)
        {
            Assert.Equal("root 600", (await RunAsync("/usr/bin/stat", "-c", "%U %a", cluster.Tls.KeyFile("pg1"))).Output.Trim());
        }
        Assert.Equal("etcd", (await RunAsync("/usr/bin/stat", "-c", "%U", Path.Combine(ConfigDir, "etcd", "member"))).Output.Trim());
        Assert.Equal("root", (await RunAsync("/usr/bin/stat", "-c", "%U", ConfigDir)).Output.Trim());
    }

    /// <summary>
    /// The binary as the etcd user can reach it: a clean clone may live under a 0700 directory (mktemp -d in CI),
    /// which etcd cannot traverse, so the build is copied under this test's own 0755 directory (as an installed
    /// binary is world-readable).
    /// </summary>
    private string BinaryEtcdCanRun()
    {
        var target = Path.Combine(_root, "bin");
        if (!Directory.Exists(target))
        {
            var source = Path.GetDirectoryName(PgWardenCli.Binary)!;
            var mode = (UnixFileMode)Convert.ToInt32("755", 8);
            foreach (var dir in Directory.GetDirectories(source, "*", SearchOption.AllDirectories).Prepend(source))
            {
                var copy = Path.Combine(target, Path.GetRelativePath(source, dir));
                Directory.CreateDirectory(copy);
                File.SetUnixFileMode(copy, mode);
                foreach (var file in Directory.GetFiles(dir))
                {
                    var to = Path.Combine(copy, Path.GetFileName(file));
                    File.Copy(file, to);
                    File.SetUnixFileMode(to, mode);
                }
            }
        }
        return Path.Combine(target, Path.GetFileName(PgWardenCli.Binary));
    }

    /// <summary>Starts dcs-server as etcd, waits until etcd runs (authentication switched on), checks who runs what, stops it with SIGTERM.</summary>
    private async Task RunOnceAsync(string credentials)
    {
        var psi = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var a in new[] { "--reuid", "etcd", "--regid", "etcd", "--init-groups", "--", BinaryEtcdCanRun(), "dcs-server", "--config", Config })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["CREDENTIALS_DIRECTORY"] = credentials;
        psi.Environment["HOME"] = "/var/lib/etcd";
        using var server = Process.Start(psi)!;
        var running = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new List<string>();
        server.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
                if (line.Contains(" running (PID ", StringComparison.Ordinal))
                {
                    running.TrySetResult(line);
                }
            }
        };
        server.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            var started = await Task.WhenAny(running.Task, server.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(90)));
            Assert.True(started == running.Task, $"dcs-server did not report etcd running: {string.Join("\n", lines)}");
            output.WriteLine(running.Task.Result);
            // "running" comes after authentication was switched on through etcd's client port: etcd answered (over https with TLS).
            var pidText = File.ReadAllText(Path.Combine(ConfigDir, "etcd.pid")).Trim();
            Assert.Equal(server.Id.ToString(), pidText);
            var etcdPid = int.Parse(running.Task.Result.Split("(PID ")[1].Split(',')[0]);
            var etcdUid = (await RunAsync("/usr/bin/id", "-u", "etcd")).Output.Trim();
            Assert.Equal(etcdUid, Uid(server.Id));
            Assert.Equal(etcdUid, Uid(etcdPid));

            Assert.True(Core.Processes.Libc.Kill(server.Id, Core.Processes.Libc.SIGTERM));
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(stop.Token);
            Assert.True(server.ExitCode == 0, $"dcs-server exited {server.ExitCode}: {string.Join("\n", lines)}");
            Assert.False(Core.Processes.Libc.IsAlive(etcdPid));
            // It could not delete its PID file in the root-owned directory: it emptied it.
            Assert.Equal("", File.ReadAllText(Path.Combine(ConfigDir, "etcd.pid")));
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>The real uid of a process (first field of Uid: in /proc/PID/status).</summary>
    private static string Uid(int pid) =>
        File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];

    private static async Task<(int Code, string Output)> RunAsync(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, (await stdout) + (await stderr));
    }
}
