using Npgsql;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Runtime;

/// <summary>A node to run SQL on as the superuser, in the app database: the one named, or the current primary.</summary>
public sealed class NodeTarget : IAsyncDisposable
{
    private readonly NpgsqlDataSource _source;

    private NodeTarget(NodeConfig node, NpgsqlDataSource source)
    {
        Node = node;
        _source = source;
    }

    public NodeConfig Node { get; }

    public static async Task<NodeTarget> OpenAsync(ClusterConfig cluster, string? nodeName, CancellationToken ct)
    {
        var node = nodeName is null ? await PrimaryLocator.FindAsync(cluster, ct) : cluster.Node(nodeName);
        var secrets = ClusterSecrets.Load(cluster.SecretsFile);
        return new NodeTarget(node, PrimaryLocator.Superuser(cluster, node, secrets, cluster.Database.Name));
    }

    public async Task<NpgsqlConnection> ConnectAsync(CancellationToken ct)
    {
        try
        {
            return await _source.OpenConnectionAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
        {
            throw new PgWardenException(ExitCodes.NotRunning,
                $"cannot connect to {Node.Name} at {Node.Address}:{Node.Port}: {(e is PostgresException p ? p.MessageText : e.Message)}");
        }
    }

    /// <summary>Refuses to go on when the node is a replica (VACUUM and REINDEX need the primary).</summary>
    public async Task RequirePrimaryAsync(NpgsqlConnection conn, string what, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
        if ((bool)(await cmd.ExecuteScalarAsync(ct))!)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"{Node.Name} is a replica (read-only); {what} runs on the primary (omit --node)");
        }
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
