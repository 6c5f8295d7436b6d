using System.Text;
using Npgsql;
using PgWarden.Agent.Ha;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;
using PgWarden.Core.Security;

namespace PgWarden.Agent.Postgres;

/// <summary>
/// <see cref="IPeerNodes"/> over the network, as the cluster's superuser (SCRAM, the password from
/// the secrets file, never logged). History files are read from the node's pg_wal with
/// pg_read_binary_file: PostgreSQL keeps them there for good (Npgsql's TIMELINE_HISTORY call fails
/// on PostgreSQL 15's answer).
/// </summary>
public sealed class PeerNodes(ClusterConfig cluster, ClusterSecrets secrets) : IPeerNodes
{
    public async Task<TimelineHistory> TimelineHistoryAsync(NodeConfig node, long timeline, CancellationToken ct)
    {
        if (timeline <= 1)
        {
            return TimelineHistory.Initial(timeline);
        }
        await using var conn = await OpenAsync(node, ct);
        await using var cmd = new NpgsqlCommand("SELECT pg_read_binary_file('pg_wal/' || $1)", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = $"{timeline:X8}.history" });
        var content = (byte[])(await cmd.ExecuteScalarAsync(ct))!;
        return TimelineHistory.Parse(timeline, Encoding.UTF8.GetString(content));
    }

    public async Task<long?> ReceivedPositionAsync(NodeConfig node, CancellationToken ct)
    {
        await using var conn = await OpenAsync(node, ct);
        await using var cmd = new NpgsqlCommand("SELECT pg_last_wal_receive_lsn()::text", conn);
        return await cmd.ExecuteScalarAsync(ct) is string lsn ? Lsn.Parse(lsn) : null;
    }

    public async Task<bool> IsPrimaryAsync(NodeConfig node, CancellationToken ct)
    {
        try
        {
            await using var conn = await OpenAsync(node, ct);
            await using var cmd = new NpgsqlCommand("SELECT NOT pg_is_in_recovery()", conn);
            return await cmd.ExecuteScalarAsync(ct) is true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException
                                   || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(NodeConfig node, CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder
        {
            Host = node.Address, Port = node.Port, Username = cluster.Database.Superuser, Password = secrets.SuperuserPassword,
            Database = "postgres", Timeout = 3, CommandTimeout = 3, Pooling = false, ApplicationName = "pgwarden-agent",
        };
        var conn = new NpgsqlConnection(PgWarden.Postgres.Tls.ClientTls.Apply(cs, cluster).ConnectionString);
        await conn.OpenAsync(ct);
        return conn;
    }
}
