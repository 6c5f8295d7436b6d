using System.Text.Json;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>Helpers for tests that make the WAL archive refuse writes: what status reports, and the proof that nothing was lost.</summary>
public static class ArchiveOutage
{
    /// <summary>Waits until `status` is degraded with a problem starting with <paramref name="prefix"/>; returns that problem.</summary>
    public static Task<string> StatusProblemAsync(TestCluster cluster, string prefix, TimeSpan timeout) =>
        TestCluster.WaitForAsync(async () =>
        {
            var status = await cluster.RunAsync("status", "--json");
            var problems = CliJson.Data(status.Stdout).GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList();
            return status.ExitCode == 1 ? problems.FirstOrDefault(p => p.StartsWith(prefix, StringComparison.Ordinal)) : null;
        }, timeout, $"status to report '{prefix}'");

    /// <summary>Fetches <paramref name="segment"/> back with wal-fetch and asserts it equals <paramref name="expected"/> byte for byte.</summary>
    public static async Task AssertFetchedEqualsAsync(TestCluster cluster, string segment, byte[] expected)
    {
        var fetched = Path.Combine(cluster.Dir, "fetched-" + segment);
        var fetch = await cluster.RunAsync("wal-fetch", "--data-dir", cluster.DataDir(1), segment, fetched);
        Assert.True(fetch.ExitCode == 0, fetch.ToString());
        Assert.Equal(expected, await File.ReadAllBytesAsync(fetched));
    }
}
