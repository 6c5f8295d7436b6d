using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>Fault 10: a repository the postgres OS user cannot write (created by root) stops `up` at once, naming the path and the fix.</summary>
public sealed class BackupPreflightTests
{
    [Fact]
    public async Task UpRefusesARepositoryThePostgresUserCannotWrite()
    {
        await using var cluster = new TestCluster(subnet: 123, nodes: 1, extraYaml: "backup:\n  repository: { type: fs, path: repo }\n");
        var repo = Path.Combine(cluster.Dir, "repo");
        Directory.CreateDirectory(repo);
        File.SetUnixFileMode(repo, (UnixFileMode)0b111_101_101);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var up = await cluster.RunAsync("up");
        Assert.True(up.ExitCode == 3, up.ToString());
        var lines = up.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("pgwarden: building", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains(repo, lines[0]);
        Assert.Contains("chown", lines[0]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"up took {clock.Elapsed} to refuse");
        Assert.False(Directory.Exists(Path.Combine(cluster.Dir, "nodes")), "up started something despite the refusal");

        var check = await cluster.RunAsync("config", "check");
        Assert.Equal(3, check.ExitCode);
        Assert.Contains(repo, check.Stderr);
    }
}
