using System.Diagnostics;
using PgWarden.Core.Errors;
using PgWarden.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgWarden.IntegrationTests;

/// <summary>
/// `pgwarden install` through the real CLI: the files it writes with --output are checked by the tools that
/// read them on a host — `systemd-analyze verify` for the units (unknown keys and bad values are errors here),
/// `systemd-tmpfiles --root` for the tmpfiles.d rules (applied to a scratch root), `logrotate -d` for the
/// logrotate snippets — from a configuration whose path holds a space. Nothing is started and nothing
/// outside the test's directory is changed (addresses in 127.0.180.0/24 are only written, never bound).
/// </summary>
public sealed class InstallCommandTests(ITestOutputHelper output) : IDisposable
{
    private const int Subnet = 180;

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"pgwarden-install-{Guid.NewGuid():N}"[..36]);

    private string ConfigDir => Path.Combine(_root, "etc", "pg warden");

    private string Config => Path.Combine(ConfigDir, "cluster.yaml");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void WriteConfig()
    {
        Directory.CreateDirectory(ConfigDir);
        var endpoints = string.Join(", ", Enumerable.Range(1, 3).Select(i => $"http://127.0.{Subnet}.{i}:2379"));
        File.WriteAllText(Config, TestCluster.Yaml(Subnet, 3, $"dcs:\n  embedded: false\n  endpoints: [{endpoints}]\n",
            nodeOptions: i => $"data_dir: {Path.Combine(_root, "var", $"data {i}")}"));
    }

    [Theory]
    [InlineData("node", "pg1", "pgwarden-agent-pg1")]
    [InlineData("pooler", "pgb1", "pgwarden-pooler-pgb1")]
    [InlineData("etcd", "pg2", "pgwarden-etcd-pg2")]
    public async Task TheGeneratedFilesPassTheToolsThatReadThem(string role, string name, string unitName)
    {
        WriteConfig();
        var outDir = Path.Combine(_root, "out");
        var result = await PgWardenCli.RunAsync("install", "--role", role, "--name", name, "--config", Config, "--output", outDir);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains("nothing else was changed", result.Stdout);

        var unitPath = Path.Combine(outDir, unitName + ".service");
        var unit = File.ReadAllText(unitPath);
        Assert.Contains("WantedBy=multi-user.target", unit);
        Assert.True(File.Exists(Path.Combine(outDir, unitName + ".INSTALL.txt")));
        if (role != "etcd")
        {
            Assert.Contains("User=postgres", unit);
            Assert.Contains($"--config \"{Config}\"", unit);
            Assert.Contains($"ReadWritePaths=\"{ConfigDir}\"", unit);
        }
        if (role == "node")
        {
            Assert.Contains("KillMode=mixed", unit);
            Assert.Contains("WatchdogSec=3", unit);
        }

        await VerifyUnitAsync(unitPath);
        await ApplyTmpfilesAsync(Path.Combine(outDir, unitName + ".tmpfiles.conf"), role);
        var logrotate = Path.Combine(outDir, unitName + ".logrotate");
        if (File.Exists(logrotate))
        {
            await CheckLogrotateAsync(logrotate);
        }
    }

    [Fact]
    public async Task SystemRefusesWhereSystemdIsNotTheInitSystem()
    {
        if (Directory.Exists("/run/systemd/system"))
        {
            // On a host where systemd is PID 1 (and the tests run as root) --system would really install units.
            output.WriteLine("skipped: systemd is the init system on this machine (/run/systemd/system exists); --system is not run by tests there");
            return;
        }
        WriteConfig();
        var result = await PgWardenCli.RunAsync("install", "--role", "node", "--name", "pg1", "--config", Config, "--system");
        Assert.Equal(ExitCodes.NotRunning, result.ExitCode);
        Assert.Contains("systemd is not the init system here", result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists("/etc/systemd/system/pgwarden-agent-pg1.service"));
    }

    [Fact]
    public async Task OutputAndSystemTogetherAreABadCommandLine()
    {
        WriteConfig();
        var result = await PgWardenCli.RunAsync("install", "--role", "node", "--name", "pg1", "--config", Config, "--system", "--output", Path.Combine(_root, "out"));
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(_root, "out")));
    }

    /// <summary>systemd-analyze verify: exit 0 and not one line of complaint (it only warns, exit 0, about unknown keys).</summary>
    private async Task VerifyUnitAsync(string unitPath)
    {
        if (Which("systemd-analyze") is null)
        {
            output.WriteLine($"systemd-analyze is not installed (Debian package systemd): {unitPath} checked by content only");
            return;
        }
        var verify = await RunAsync("systemd-analyze", "verify", unitPath);
        output.WriteLine($"systemd-analyze verify {Path.GetFileName(unitPath)}: exit {verify.Code} {verify.Output}");
        Assert.True(verify.Code == 0 && verify.Output.Trim().Length == 0, $"systemd-analyze verify {unitPath}: exit {verify.Code}: {verify.Output}\n{File.ReadAllText(unitPath)}");
    }

    /// <summary>Applies the tmpfiles.d rules to a scratch root (with this host's users) and checks what they created.</summary>
    private async Task ApplyTmpfilesAsync(string rules, string role)
    {
        if (Which("systemd-tmpfiles") is null)
        {
            output.WriteLine($"systemd-tmpfiles is not installed (Debian package systemd): {rules} checked by content only");
            return;
        }
        var user = role == "etcd" ? "etcd" : "postgres";
        if (!File.ReadLines("/etc/passwd").Any(l => l.StartsWith(user + ":", StringComparison.Ordinal)))
        {
            output.WriteLine($"no OS user {user} on this machine (package {(user == "etcd" ? "etcd-server" : "postgresql-15")}): {rules} not applied");
            return;
        }
        var scratch = Path.Combine(_root, "scratch root");
        Directory.CreateDirectory(Path.Combine(scratch, "etc"));
        File.Copy("/etc/passwd", Path.Combine(scratch, "etc", "passwd"), overwrite: true);
        File.Copy("/etc/group", Path.Combine(scratch, "etc", "group"), overwrite: true);
        var apply = await RunAsync("systemd-tmpfiles", $"--root={scratch}", "--create", rules);
        Assert.True(apply.Code == 0, $"systemd-tmpfiles --create {rules}: exit {apply.Code}: {apply.Output}");
        var created = role switch
        {
            "node" => Path.Combine(ConfigDir, "nodes", "pg1"),
            "pooler" => Path.Combine(ConfigDir, "poolers", "pgb1"),
            _ => "/var/lib/etcd/pgwarden-it180",
        };
        var path = scratch + created;
        Assert.True(Directory.Exists(path), $"{rules} did not create {created}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
        var owner = await RunAsync("stat", "-c", "%U", path);
        Assert.Equal(user, owner.Output.Trim());
    }

    private async Task CheckLogrotateAsync(string snippet)
    {
        if (Which("logrotate") is null)
        {
            output.WriteLine($"logrotate is not installed (Debian package logrotate): {snippet} checked by content only");
            return;
        }
        var debug = await RunAsync("logrotate", "-d", "-s", Path.Combine(_root, "logrotate.state"), snippet);
        Assert.True(debug.Code == 0 && !debug.Output.Contains("error", StringComparison.OrdinalIgnoreCase),
            $"logrotate -d {snippet}: exit {debug.Code}: {debug.Output}");
    }

    private static string? Which(string program) =>
        new[] { "/usr/bin", "/bin", "/usr/sbin", "/sbin" }.Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    private static async Task<(int Code, string Output)> RunAsync(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(Which(program)!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
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
