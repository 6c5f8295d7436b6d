using Npgsql;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Runtime;

/// <summary>Finds the primary through the agents and connects to it as the superuser (SCRAM over TCP).</summary>
public static class PrimaryLocator
{
    public static async Task<NodeConfig> FindAsync(ClusterConfig cluster, CancellationToken ct)
    {
        var client = new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(3), cluster));
        var statuses = await client.GetAllAsync(cluster.Nodes, ct);
        var primaries = statuses.Where(kv => kv.Value is { Role: NodeRole.Primary, PostgresRunning: true }).Select(kv => kv.Key).ToList();
        return primaries.Count switch
        {
            1 => cluster.Node(primaries[0]),
            0 => throw new PgWardenException(ExitCodes.NotRunning, $"no primary of cluster {cluster.Name} is running (is the cluster up? `pgwarden status`)"),
            _ => throw new PgWardenException(ExitCodes.OperationFailed, $"several nodes report being primary ({string.Join(", ", primaries)}); refusing to pick one"),
        };
    }

    public static NpgsqlDataSource Superuser(ClusterConfig cluster, NodeConfig node, ClusterSecrets secrets, string database) =>
        NpgsqlDataSource.Create(Postgres.Tls.ClientTls.Apply(new NpgsqlConnectionStringBuilder
        {
            Host = node.Address,
            Port = node.Port,
            Database = database,
            Username = cluster.Database.Superuser,
            Password = secrets.SuperuserPassword,
            Timeout = 5,
            CommandTimeout = 60,
            ApplicationName = "pgwarden",
        }, cluster).ConnectionString);
}
