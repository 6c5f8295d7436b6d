using Npgsql;
using PgWarden.Core.Config;
using PgWarden.Core.Security;

namespace PgWarden.Postgres.Sql;

/// <summary>
/// What a new primary needs before replicas and the app can connect: role passwords (as SCRAM
/// secrets, so no plaintext reaches the server or its DDL log), the replication role, the app role
/// and database, and one physical slot per other node. Idempotent.
/// </summary>
public static class ClusterBootstrapSql
{
    public static async Task ApplyAsync(NpgsqlDataSource superuser, ClusterConfig cluster, string primary, ClusterSecrets secrets, CancellationToken ct)
    {
        var db = cluster.Database;
        await using var conn = await superuser.OpenConnectionAsync(ct);
        await Exec(conn, "SET log_statement = 'none'", ct);
        await SetRole(conn, db.Superuser, "SUPERUSER LOGIN", secrets.SuperuserPassword, ct);
        await SetRole(conn, db.ReplicationUser, "REPLICATION LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", secrets.ReplicationPassword, ct);
        await SetRole(conn, db.AppUser, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION", secrets.AppPassword, ct);
        var exists = await Scalar<bool>(conn, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", ct, db.Name);
        if (!exists)
        {
            await Exec(conn, $"CREATE DATABASE {Quote(db.Name)} OWNER {Quote(db.AppUser)}", ct);
        }
        await Exec(conn, $"REVOKE ALL ON DATABASE {Quote(db.Name)} FROM PUBLIC", ct);
        await Exec(conn, $"GRANT CONNECT, TEMPORARY ON DATABASE {Quote(db.Name)} TO {Quote(db.AppUser)}", ct);
        foreach (var node in cluster.Nodes.Where(n => n.Name != primary))
        {
            await EnsureSlotAsync(conn, node.SlotName, ct);
        }
    }

    /// <summary>Creates a physical slot if missing (one per node, so any node can replicate from any new primary).</summary>
    public static async Task EnsureSlotAsync(NpgsqlConnection conn, string slot, CancellationToken ct)
    {
        await Exec(conn,
            "SELECT pg_create_physical_replication_slot($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
            ct, slot);
    }

    private static async Task SetRole(NpgsqlConnection conn, string role, string attributes, string password, CancellationToken ct)
    {
        var exists = await Scalar<bool>(conn, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", ct, role);
        var secret = ScramSecret.ForRole(role, password);
        var verb = exists ? "ALTER" : "CREATE";
        await Exec(conn, $"{verb} ROLE {Quote(role)} WITH {attributes} PASSWORD '{secret}'", ct);
    }

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    private static async Task Exec(NpgsqlConnection conn, string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<T> Scalar<T>(NpgsqlConnection conn, string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        }
        return (T)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
