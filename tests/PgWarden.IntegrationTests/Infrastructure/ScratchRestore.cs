using System.Text.RegularExpressions;
using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>Runs `pgwarden restore --keep-running` into a scratch directory, reads the marker rows, stops the restored server by PID.</summary>
public static partial class ScratchRestore
{
    [GeneratedRegex(@"started on 127\.0\.0\.1:(\d+) \(socket ([^)]+)\)")]
    private static partial Regex Started();

    public sealed record Restored(List<string> Markers, string Output);

    public static async Task<Restored> RunAsync(TestCluster cluster, string name, params string[] args)
    {
        var to = Path.Combine(cluster.Dir, "restore-" + name);
        var result = await cluster.RunAsync(["restore", "--to", to, "--keep-running", "--timeout", "120", .. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var m = Started().Match(result.Stdout);
        Assert.True(m.Success, result.ToString());
        try
        {
            await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder
            {
                Host = m.Groups[2].Value, Port = int.Parse(m.Groups[1].Value), Username = "postgres", Database = "bookreader", Pooling = false, Timeout = 5,
            }.ConnectionString);
            await conn.OpenAsync();
            var names = new List<string>();
            await using (var cmd = new NpgsqlCommand("SELECT name FROM markers ORDER BY name", conn))
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                while (await r.ReadAsync())
                {
                    names.Add(r.GetString(0));
                }
            }
            return new Restored(names, result.Stdout);
        }
        finally
        {
            if (TestCluster.ReadPid(Path.Combine(to, "postmaster.pid")) is { } pid)
            {
                TestCluster.Signal(pid, 2);
                await TestCluster.WaitForAsync(() => Task.FromResult<string?>(File.Exists($"/proc/{pid}/stat") ? null : "gone"), TimeSpan.FromSeconds(30), "the restored postmaster to stop");
            }
            // The socket directory restore --keep-running left for the server (empty once it stopped).
            if (m.Success && Directory.Exists(m.Groups[2].Value) && !Directory.EnumerateFileSystemEntries(m.Groups[2].Value).Any())
            {
                Directory.Delete(m.Groups[2].Value);
            }
        }
    }
}
