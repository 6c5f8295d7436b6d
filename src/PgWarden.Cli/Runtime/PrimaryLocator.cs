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
    /// <summary>
    /// The node whose agent reports a running primary. Agents get 3 s; when none reports a primary and
    /// some did not answer (a busy host), those are asked once more with 10 s before the command gives up.
    /// Throws <see cref="PgWardenException"/>: NotRunning (no primary), OperationFailed (several).
    /// </summary>
    public static async Task<NodeConfig> FindAsync(ClusterConfig cluster, CancellationToken ct)
    {
        var client = new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(3), cluster));
        var statuses = new Dictionary<string, NodeStatus?>(await client.GetAllAsync(cluster.Nodes, ct));
        static List<string> Primaries(IReadOnlyDictionary<string, NodeStatus?> s) =>
            [.. s.Where(kv => kv.Value is { Role: NodeRole.Primary, PostgresRunning: true }).Select(kv => kv.Key)];
        var silent = cluster.Nodes.Where(n => statuses.GetValueOrDefault(n.Name) is null).ToList();
        if (Primaries(statuses).Count == 0 && silent.Count > 0)
        {
            var patient = new AgentClient(AgentClient.CreateHttpClient(TimeSpan.FromSeconds(10), cluster));
            foreach (var (name, status) in await patient.GetAllAsync(silent, ct))
            {
                statuses[name] = status;
            }
        }
        var primaries = Primaries(statuses);
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
