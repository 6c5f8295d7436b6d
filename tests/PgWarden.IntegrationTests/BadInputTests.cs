using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>Bad input gets one clear line and a non-zero exit code, and loses nothing.</summary>
public sealed class BadInputTests
{
    private static void AssertOneCleanLine(CliResult result, int exitCode, params string[] mustContain)
    {
        Assert.True(result.ExitCode == exitCode, $"expected exit {exitCode}: {result}");
        var errorLines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("pgwarden: building", StringComparison.Ordinal)).ToList();
        Assert.True(errorLines.Count == 1, $"expected one error line: {result}");
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
        foreach (var text in mustContain)
        {
            Assert.Contains(text, errorLines[0]);
        }
    }

    [Fact]
    public async Task ConfigErrorsNameTheKey()
    {
        await using var cluster = new TestCluster(subnet: 43);
        File.WriteAllText(cluster.ConfigFile, File.ReadAllText(cluster.ConfigFile).Replace("port: 5532", "port: 70000"));
        AssertOneCleanLine(await cluster.RunAsync("up"), 3, "nodes[0].port", "out of range");

        File.WriteAllText(cluster.ConfigFile, TestCluster.Yaml(43, 3) + "replicas: 2\n");
        AssertOneCleanLine(await cluster.RunAsync("config", "check"), 3, "replicas", "unknown key");

        File.WriteAllText(cluster.ConfigFile, TestCluster.Yaml(43, 3).Replace("name: pg2", "name: pg1"));
        AssertOneCleanLine(await cluster.RunAsync("up"), 3, "duplicate node name 'pg1'");
        Assert.False(Directory.Exists(Path.Combine(cluster.Dir, "nodes")), "a config error must not create anything");
    }

    [Fact]
    public async Task PortInUseIsNamedWithItsHolder()
    {
        await using var cluster = new TestCluster(subnet: 44);
        using var squatter = new TcpListener(IPAddress.Parse(cluster.Address(2)), TestCluster.PgPort);
        squatter.Start();
        var result = await cluster.RunAsync("up");
        AssertOneCleanLine(result, 5, $"port {TestCluster.PgPort} on {cluster.Address(2)}", "node pg2", "PID");
        Assert.Null(TestCluster.ReadPid(Path.Combine(cluster.Dir, "nodes", "pg1", "agent.pid")));
    }

    [Fact]
    public async Task ForeignDataDirectoryIsRefusedAndKept()
    {
        await using var cluster = new TestCluster(subnet: 45);
        var data = cluster.DataDir(2);
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "precious.txt"), "not PostgreSQL");
        AssertOneCleanLine(await cluster.RunAsync("up"), 7, data, "refusing to touch it");
        Assert.Equal("not PostgreSQL", File.ReadAllText(Path.Combine(data, "precious.txt")));

        // A real PostgreSQL cluster that is not this node's is refused too.
        File.Delete(Path.Combine(data, "precious.txt"));
        Directory.CreateDirectory(data);
        File.SetUnixFileMode(data, (UnixFileMode)0b111_000_000);
        await RunAsPostgres("chown", "-R", "postgres:postgres", Path.GetDirectoryName(data)!);
        await RunAsPostgres("runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/initdb", "-D", data, "-A", "peer");
        var before = Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length;
        AssertOneCleanLine(await cluster.RunAsync("up"), 7, "holds a PostgreSQL cluster", "not node pg2");
        Assert.Equal(before, Directory.GetFiles(data, "*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task MissingBinariesNameThePackage()
    {
        await using var cluster = new TestCluster(subnet: 46);
        File.WriteAllText(cluster.ConfigFile, File.ReadAllText(cluster.ConfigFile).Replace("postgres:\n", "postgres:\n  bin_dir: /nonexistent/bin\n"));
        AssertOneCleanLine(await cluster.RunAsync("up"), 6, "/nonexistent/bin/initdb", "apt-get install postgresql-15");
    }

    [Fact]
    public async Task PurgeNeedsConfirmationAndUnknownArgumentsFailCleanly()
    {
        await using var cluster = new TestCluster(subnet: 47);
        AssertOneCleanLine(await cluster.RunAsync("down", "--purge"), 7, "--yes");
        Assert.True(File.Exists(cluster.ConfigFile));

        AssertOneCleanLine(await PgWardenCli.RunAsync("tune", "--ram", "lots"), 2, "--ram", "lots");
        AssertOneCleanLine(await PgWardenCli.RunAsync("frobnicate"), 2, "frobnicate");
        AssertOneCleanLine(await PgWardenCli.RunAsync("status", "--dir", "/nonexistent/cluster"), 3, "no cluster in /nonexistent/cluster");
    }

    private static async Task RunAsPostgres(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await p.StandardOutput.ReadToEndAsync();
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{file} failed: {err}");
    }
}
