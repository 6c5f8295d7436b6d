using System.Text.Json;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// The leader runs the backup schedule: a logical backup every 15 s here, recorded in the DCS and
/// shown by status; after a switchover the new leader takes over the schedule without running a
/// slot twice.
/// </summary>
public sealed class BackupScheduleTests
{
    private const int SlotSeconds = 15;

    [Fact]
    public async Task TheLeaderRunsEachSlotOnceAlsoAfterASwitchover()
    {
        await using var cluster = new TestCluster(subnet: 76, nodes: 2, extraYaml:
            $"backup:\n  repository: {{ type: fs, path: repo }}\n  schedule: {{ logical: '*/{SlotSeconds} * * * * *', physical: 'off' }}\n  encryption: none\n"); // manifests are read from disk below
        await cluster.UpAsync();

        var first = await TestCluster.WaitForAsync(async () =>
        {
            var runs = await ScheduledRunsAsync(cluster);
            return runs.FirstOrDefault(r => r.GetProperty("kind").GetString() == "logical" && r.GetProperty("status").GetString() == "succeeded") is { ValueKind: JsonValueKind.Object } run
                ? run.Clone() : (JsonElement?)null;
        }, TimeSpan.FromSeconds(60), "a scheduled logical backup to succeed");
        Assert.Equal("pg1", first!.Value.GetProperty("node").GetString());
        var status = await cluster.RunAsync("status");
        // The next slot may already be running by now.
        Assert.Matches(@"scheduled logical backup: (succeeded|running) on pg1", status.Stdout);

        var daily = await cluster.RunAsync("check", "daily", "--json");
        var backupsItem = CliJson.Data(daily.Stdout).GetProperty("items").EnumerateArray()
            .Single(i => i.GetProperty("name").GetString() == "backups");
        Assert.True(backupsItem.GetProperty("status").GetString() == "ok", backupsItem.ToString());

        var switchover = await cluster.RunAsync("switchover", "--to", "pg2", "--yes");
        Assert.True(switchover.ExitCode == 0, switchover.ToString());
        await TestCluster.WaitForAsync(async () =>
        {
            var backups = await LogicalBackupsAsync(cluster);
            return backups.Count(b => b.Node == "pg2") >= 2 ? "ok" : null;
        }, TimeSpan.FromSeconds(90), "two scheduled logical backups on the new leader pg2");

        // Stop the agents first: a backup that finished between listing the manifests and reading the logs
        // made the two counts differ (CI: 4 logged runs, 3 manifests listed a moment earlier).
        var stopped = await cluster.RunAsync("down");
        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        // Each slot produced at most one backup: counted in the repository (manifests), not in the agents' logs.
        var manifests = Directory.GetFiles(Path.Combine(cluster.Dir, "repo"), "manifest.json", SearchOption.AllDirectories)
            .Select(f => System.Text.Json.JsonDocument.Parse(File.ReadAllText(f)).RootElement)
            .Where(m => m.GetProperty("type").GetString() == "logical")
            .Select(m => (Node: m.GetProperty("source_node").GetString()!, Start: m.GetProperty("start_time").GetDateTimeOffset()))
            .ToList();
        Assert.True(manifests.Count >= 3, "expected at least 3 scheduled backups: " + string.Join(", ", manifests));
        // A run may start late (the previous one still running), so its start time does not name its slot:
        // the agents log the slot each run was for; every backup in the repository is one such run, and no
        // slot appears twice across the agents.
        var slotRuns = Directory.GetFiles(Path.Combine(cluster.Dir, "logs"), "agent-pg*.log")
            .SelectMany(File.ReadLines)
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"scheduled logical backup of (\S+ \S+) succeeded"))
            .Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        var twice = slotRuns.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, "a slot ran twice: " + string.Join(", ", twice));
        Assert.Equal(slotRuns.Count, manifests.Count);
        Assert.Contains(manifests, m => m.Node == "pg1");
        Assert.Contains(manifests, m => m.Node == "pg2");

        // Purging the cluster never purges its backups: the repository inside the cluster directory stays.
        var purge = await cluster.RunAsync("down", "--purge", "--yes");
        Assert.True(purge.ExitCode == 0, purge.ToString());
        Assert.Contains("kept the backup repository", purge.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(cluster.Dir, "nodes")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(cluster.Dir, "repo"), "manifest.json", SearchOption.AllDirectories));
    }

    private static async Task<List<JsonElement>> ScheduledRunsAsync(TestCluster cluster)
    {
        var json = await cluster.StatusJsonAsync();
        return json.TryGetProperty("scheduled_backups", out var runs) ? [.. runs.EnumerateArray().Select(r => r.Clone())] : [];
    }

    private static async Task<List<(string Node, DateTimeOffset Start)>> LogicalBackupsAsync(TestCluster cluster)
    {
        var list = await cluster.RunAsync("backup", "list", "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        return [.. CliJson.Backups(list.Stdout)
            .Where(b => b.GetProperty("type").GetString() == "logical")
            .Select(b => (b.GetProperty("source_node").GetString()!, b.GetProperty("start_time").GetDateTimeOffset()))];
    }
}
