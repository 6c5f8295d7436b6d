using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>One 1-node cluster on 127.0.120.0/24 with a filesystem repository (schedules off) for the fault tests of issue 10.</summary>
public sealed class BackupFaultFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new(subnet: 120, nodes: 1, extraYaml: "backup:\n  repository: { type: fs, path: repo }\n  archive_timeout: 60\n  schedule: { logical: 'off', physical: 'off', verify: 'off' }\n  encryption: none\n"); // these tests read manifests from disk

    public string Repo => Path.Combine(Cluster.Dir, "repo");

    public Task InitializeAsync() => Cluster.UpAsync();

    public Task DisposeAsync() => Cluster.DisposeAsync().AsTask();

    /// <summary>Every file in the repository (relative paths, hidden temp files included), sorted.</summary>
    public List<string> Listing() => Directory.Exists(Repo)
        ? [.. Directory.GetFiles(Repo, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Repo, f)).Order(StringComparer.Ordinal)]
        : [];

    /// <summary>The files of backups only (no archived WAL, no locks): what a backup writes and must not leave behind.</summary>
    public List<string> BackupFiles() => [.. Listing().Where(f => f.Contains("/backups/", StringComparison.Ordinal))];

    /// <summary>
    /// Nothing was removed from the repository and no backup file was added since <paramref name="before"/>;
    /// WAL archived meanwhile is the running cluster's, not the command's.
    /// </summary>
    public void AssertUntouchedSince(List<string> before)
    {
        var after = Listing();
        Assert.Empty(before.Except(after, StringComparer.Ordinal));
        Assert.DoesNotContain(after.Except(before, StringComparer.Ordinal), f => !f.Contains("/wal/", StringComparison.Ordinal));
    }

    public string SystemDir => Directory.GetDirectories(Path.Combine(Repo, "it120")).Single();

    public static string IdOf(CliResult result, string type) => result.Stdout.Split(' ', '\n').First(w => w.EndsWith("-" + type, StringComparison.Ordinal));
}
