using Npgsql;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Rendering;
using PgWarden.Core.Security;
using PgWarden.Core.Tuning;
using PgWarden.Postgres;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Agent;

/// <summary>What one agent works with: its cluster, its node, the secrets, and the process boundaries.</summary>
public sealed class AgentContext : IAsyncDisposable
{
    public AgentContext(ClusterConfig cluster, NodeConfig node, ClusterSecrets secrets, IDcs dcs)
    {
        Dcs = dcs;
        Cluster = cluster;
        Node = node;
        Secrets = secrets;
        Binaries = new PgBinaries(cluster.Postgres.BinDir, cluster.Postgres.Version);
        Launcher = new ProcessLauncher(OsUser.ServerUser(cluster.Postgres.OsUser));
        Tools = new ToolRunner(Launcher);
        Postgres = new PostgresNode(cluster, node, Binaries, Launcher, Tools);
        Peers = new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(2), cluster, node.Name));
        // Unpooled like StatusSource: its pool is cleared only when the supervisor starts a postmaster,
        // but a postmaster also reinitialises in place (one backend SIGKILLed or OOM-killed), which
        // breaks every idle pooled connection; the next promotion's synchronous_standby_names, slots
        // or checkpoint then failed on "Exception while writing to stream" (the PromoteAsync bug class).
        LocalSuperuser = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(Postgres.LocalConnectionString()) { Pooling = false }.ConnectionString);
        StatusSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(Postgres.LocalConnectionString()) { Pooling = false, Timeout = 2 }.ConnectionString);
        Hardware = HostDetector.Profile(cluster.Hardware, cluster.Postgres.MaxConnections);
    }

    public IDcs Dcs { get; }
    public ClusterConfig Cluster { get; }
    public NodeConfig Node { get; }
    public ClusterSecrets Secrets { get; }
    public PgBinaries Binaries { get; }
    public ProcessLauncher Launcher { get; }
    public IToolRunner Tools { get; }
    public PostgresNode Postgres { get; }
    public AgentClient Peers { get; }
    public NpgsqlDataSource LocalSuperuser { get; }

    /// <summary>Unpooled: every status check proves the postmaster still accepts new connections.</summary>
    public NpgsqlDataSource StatusSource { get; }
    public HardwareProfile Hardware { get; }

    public IEnumerable<NodeConfig> OtherNodes => Cluster.Nodes.Where(n => n.Name != Node.Name);

    /// <summary>The rendering inputs for this node, following <paramref name="upstream"/> (null as primary); the same factory `config render` uses.</summary>
    public NodeRenderContext RenderContext(NodeConfig? upstream) =>
        NodeRenderContextFactory.Create(Cluster, Node, upstream, Launcher.ServerUser, PgWardenBinary);

    private string? _pgWardenBinary;

    /// <summary>This program as the server user can run it (archive_command, restore_command).</summary>
    public string PgWardenBinary => _pgWardenBinary ??= NodeRenderContextFactory.AgentBinary(Launcher.ServerUser, Cluster.BaseDir);

    public async ValueTask DisposeAsync()
    {
        await LocalSuperuser.DisposeAsync();
        await StatusSource.DisposeAsync();
    }
}
