using System.Text.RegularExpressions;
using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>A `pgwarden restore --keep-running` copy: connections to it, and stopping it by PID when disposed.</summary>
public sealed partial class RestoredCopy : IAsyncDisposable
{
    [GeneratedRegex(@"started on 127\.0\.0\.1:(\d+) \(socket ([^)]+)\)")]
    private static partial Regex Started();

    private RestoredCopy(string dir, int port, string socket, CliResult result)
    {
        Dir = dir;
        Port = port;
        Socket = socket;
        Result = result;
    }

    public string Dir { get; }
    public int Port { get; }
    public string Socket { get; }
    public CliResult Result { get; }

    public static async Task<RestoredCopy> StartAsync(TestCluster cluster, string name, params string[] args)
    {
        var to = Path.Combine(cluster.Dir, "restore-" + name);
        var result = await cluster.RunAsync(["restore", "--to", to, "--keep-running", "--timeout", "180", .. args]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var m = Started().Match(result.Stdout);
        Assert.True(m.Success, result.ToString());
        return new RestoredCopy(to, int.Parse(m.Groups[1].Value), m.Groups[2].Value, result);
    }

    public NpgsqlConnection Connect(string database) => new(new NpgsqlConnectionStringBuilder
    {
        Host = Socket, Port = Port, Username = "postgres", Database = database, Pooling = false, Timeout = 10, CommandTimeout = 120,
    }.ConnectionString);

    public async ValueTask DisposeAsync()
    {
        if (TestCluster.ReadPid(Path.Combine(Dir, "postmaster.pid")) is { } pid)
        {
            TestCluster.Signal(pid, 2);
            await TestCluster.WaitForExitAsync(pid, TimeSpan.FromSeconds(30), "the restored postmaster to stop");
        }
        if (Directory.Exists(Socket) && !Directory.EnumerateFileSystemEntries(Socket).Any())
        {
            Directory.Delete(Socket);
        }
    }
}
