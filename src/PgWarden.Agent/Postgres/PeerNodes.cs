using System.Text;
using Npgsql;
using Npgsql.Replication;
using PgWarden.Agent.Ha;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;

namespace PgWarden.Agent.Postgres;

/// <summary><see cref="IPeerNodes"/> over the network: the replication role for history files, the superuser for positions (SCRAM, passwords from the secrets file, never logged).</summary>
public sealed class PeerNodes(ClusterConfig cluster, ClusterSecrets secrets) : IPeerNodes
{
    public async Task<TimelineHistory> TimelineHistoryAsync(NodeConfig node, long timeline, CancellationToken ct)
    {
        if (timeline <= 1)
        {
            return TimelineHistory.Initial(timeline);
        }
        var cs = new NpgsqlConnectionStringBuilder
        {
            Host = node.Address, Port = node.Port, Username = cluster.Database.ReplicationUser, Password = secrets.ReplicationPassword,
            Database = "replication", Timeout = 5, ApplicationName = "pgwarden-agent",
        };
        await using var conn = new PhysicalReplicationConnection(cs.ConnectionString);
        await conn.Open(ct);
        var file = await conn.TimelineHistory((uint)timeline, ct);
        return TimelineHistory.Parse(timeline, Encoding.UTF8.GetString(file.Content));
    }

    public async Task<long?> ReceivedPositionAsync(NodeConfig node, CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder
        {
            Host = node.Address, Port = node.Port, Username = cluster.Database.Superuser, Password = secrets.SuperuserPassword,
            Database = "postgres", Timeout = 3, CommandTimeout = 3, Pooling = false, ApplicationName = "pgwarden-agent",
        };
        await using var conn = new NpgsqlConnection(cs.ConnectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("SELECT pg_last_wal_receive_lsn()::text", conn);
        return await cmd.ExecuteScalarAsync(ct) is string lsn ? Lsn.Parse(lsn) : null;
    }
}
