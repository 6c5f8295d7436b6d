using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>Runs `pgwarden restore --keep-running` into a scratch directory, reads the marker rows, stops the restored server by PID.</summary>
public static class ScratchRestore
{
    public sealed record Restored(List<string> Markers, string Output);

    public static async Task<Restored> RunAsync(TestCluster cluster, string name, params string[] args)
    {
        await using var copy = await RestoredCopy.StartAsync(cluster, name, args);
        await using var conn = copy.Connect("bookreader");
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
        return new Restored(names, copy.Result.Stdout);
    }
}
