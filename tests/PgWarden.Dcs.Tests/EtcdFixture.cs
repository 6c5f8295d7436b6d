using PgWarden.Core.Processes;
namespace PgWarden.Dcs.Tests;

/// <summary>One real single-member etcd per test class, on 127.0.0.1, in a temporary directory; stopped by PID.</summary>
public sealed class EtcdFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"pgwarden-dcs-{Guid.NewGuid():N}");

    public EtcdServer Server { get; private set; } = null!;

    public string Endpoint => Server.ClientUrl;

    public async Task InitializeAsync()
    {
        var (client, peer) = TestPorts.Take();
        Directory.CreateDirectory(_root);
        Server = await EtcdServer.StartAsync("dcs-test", $"http://127.0.0.1:{client}", $"http://127.0.0.1:{peer}",
            Path.Combine(_root, "etcd"), TimeSpan.FromSeconds(20), CancellationToken.None);
    }

    /// <summary>Starts etcd again on the same URLs and data (after a test stopped it).</summary>
    public async Task RestartAsync()
    {
        await Server.DisposeAsync();
        Server = await EtcdServer.StartAsync(Server.Name, Server.ClientUrl, Server.PeerUrl, Server.DataDir, TimeSpan.FromSeconds(20), CancellationToken.None);
    }

    public EtcdDcs NewDcs(string? cluster = null, TimeSpan? timeout = null) =>
        new(cluster ?? NewClusterName(), [Endpoint], timeout);

    /// <summary>Each test works on its own cluster name, so tests sharing the etcd never see each other's keys.</summary>
    public static string NewClusterName() => $"t{Guid.NewGuid():N}"[..13];

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            Libc.Kill(Server.Pid, Libc.SIGCONT); // in case a test left it stopped
            await Server.DisposeAsync();
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
