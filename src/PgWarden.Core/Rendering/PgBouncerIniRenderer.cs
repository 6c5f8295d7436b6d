using System.Collections.Immutable;
using System.Text;
using PgWarden.Core.Config;

namespace PgWarden.Core.Rendering;

/// <summary>
/// Renders pgbouncer.ini with the runbook's pool settings and SCRAM authentication. The write
/// database routes to the primary; the read-only alias routes to one streaming replica per pooler
/// (the poolers spread over the replicas), or to the primary when no replica streams, so reads keep working.
/// </summary>
public static class PgBouncerIniRenderer
{
    public static readonly ImmutableHashSet<string> TunableSettings =
    [
        "pool_mode", "max_client_conn", "default_pool_size", "min_pool_size", "reserve_pool_size",
        "reserve_pool_timeout", "max_db_connections", "max_user_connections", "server_idle_timeout",
        "server_lifetime", "server_connect_timeout", "query_timeout", "query_wait_timeout",
        "client_idle_timeout", "idle_transaction_timeout", "log_connections", "log_disconnections",
        "log_pooler_errors", "log_stats", "stats_period", "application_name_add_host",
        "ignore_startup_parameters", "server_reset_query", "server_check_delay", "tcp_keepalive", "server_login_retry",
    ];

    public static string ReadOnlyAlias(ClusterConfig cluster) => cluster.Database.Name + "_ro";

    public static string Render(ClusterConfig cluster, PoolerConfig pooler, NodeConfig? primary, IReadOnlyList<NodeConfig> replicas)
    {
        var db = cluster.Database;
        var home = pooler.HomeDir(cluster);
        var sb = new StringBuilder();
        sb.AppendLine($"; pgbouncer.ini for pooler {pooler.Name} of cluster {cluster.Name}. Written by PgWarden.");
        sb.AppendLine("[databases]");
        if (primary is null)
        {
            sb.AppendLine($"; no primary is known yet: {db.Name} has no server until one is elected");
        }
        else
        {
            sb.AppendLine($"; write route: primary {primary.Name}");
            sb.AppendLine($"{db.Name} = host={primary.Address} port={primary.Port} dbname={db.Name}");
        }
        if (ReadServer(cluster, pooler, primary, replicas) is { } reader)
        {
            sb.AppendLine($"; read-only route: {reader.Name} (one host: server_tls_sslmode = verify-full checks its name)");
            sb.AppendLine($"{ReadOnlyAlias(cluster)} = host={reader.Address} port={reader.Port} dbname={db.Name}");
        }

        sb.AppendLine();
        sb.AppendLine("[pgbouncer]");
        var settings = new List<KeyValuePair<string, string>>
        {
            new("listen_addr", pooler.Address),
            new("listen_port", pooler.Port.ToString()),
            new("unix_socket_dir", pooler.SocketDir(cluster)),
            new("pidfile", Path.Combine(pooler.SocketDir(cluster), "pgbouncer.pid")),
            new("auth_type", "scram-sha-256"),
            new("auth_file", Path.Combine(home, "userlist.txt")),
            new("admin_users", db.PoolerAdminUser),
            new("stats_users", db.PoolerAdminUser),
            new("pool_mode", "transaction"),
            new("max_client_conn", "1000"),
            new("default_pool_size", "50"),
            new("min_pool_size", "10"),
            new("reserve_pool_size", "10"),
            new("reserve_pool_timeout", "3"),
            new("max_db_connections", "100"),
            new("max_user_connections", "100"),
            new("server_idle_timeout", "600"),
            new("server_lifetime", "3600"),
            new("server_connect_timeout", "15"),
            // Not in the runbook: PgBouncer waits 15 s after a failed server login before retrying (and
            // fails new clients meanwhile), which would add 15 s to every failover or restart of the
            // primary; 0.25 s keeps a restarted primary's first answer within a quarter second.
            new("server_login_retry", "0.25"),
            new("query_timeout", "0"),
            new("query_wait_timeout", "120"),
            new("client_idle_timeout", "0"),
            new("log_connections", "1"),
            new("log_disconnections", "1"),
            new("log_pooler_errors", "1"),
            new("application_name_add_host", "1"),
            new("ignore_startup_parameters", "extra_float_digits"),
        };
        settings.AddRange(TlsSettings(cluster, pooler));
        var overrides = pooler.Settings.ToDictionary(s => s.Key, s => s.Value);
        foreach (var (key, value) in settings)
        {
            var v = overrides.Remove(key, out var custom) ? custom : value;
            sb.AppendLine($"{key} = {v}");
        }
        foreach (var (key, value) in pooler.Settings.Where(s => overrides.ContainsKey(s.Key)))
        {
            sb.AppendLine($"{key} = {value}");
        }
        return sb.ToString();
    }

    /// <summary>
    /// PgBouncer 1.18's TLS keys (its docs, "TLS settings"): clients must use TLS
    /// (<c>client_tls_sslmode</c> as configured, default require) with the pooler's own certificate;
    /// PgBouncer verifies each server's certificate against the cluster CA and the host name it
    /// connects to (<c>verify-full</c>: every <c>[databases]</c> entry names one host, see
    /// <see cref="ReadServer"/>), so no other certificate of the CA — a pooler's, another node's —
    /// can pose as the PostgreSQL server. With TLS disabled, both sides say disable.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> TlsSettings(ClusterConfig cluster, PoolerConfig pooler)
    {
        var tls = cluster.Tls;
        if (!tls.Enabled)
        {
            yield return new("client_tls_sslmode", "disable");
            yield return new("server_tls_sslmode", "disable");
            yield break;
        }
        yield return new("client_tls_sslmode", tls.PoolerClientMode switch
        {
            PoolerClientTlsMode.VerifyCa => "verify-ca",
            PoolerClientTlsMode.VerifyFull => "verify-full",
            _ => "require",
        });
        yield return new("client_tls_cert_file", tls.CertFile(pooler.Name));
        yield return new("client_tls_key_file", tls.KeyFile(pooler.Name));
        yield return new("client_tls_ca_file", tls.CaFile);
        yield return new("client_tls_protocols", "secure");
        yield return new("server_tls_sslmode", "verify-full");
        yield return new("server_tls_ca_file", tls.CaFile);
        yield return new("server_tls_protocols", "secure");
    }

    /// <summary>
    /// The one server of the read-only route for <paramref name="pooler"/>: a streaming replica — the
    /// poolers spread over them by position (pooler i of the configuration takes replica i mod n, in
    /// the nodes' order) — or the primary when no replica streams; null when neither is known.
    /// One host, not PgBouncer's multi-host list: PgBouncer 1.18 checks a multi-host entry's whole
    /// comma-separated list as one name, so verify-full would refuse every replica
    /// (pgbouncer/pgbouncer#1300, fixed by #1303 in 2025 after 1.24), and verify-ca would let any
    /// certificate of the cluster CA — a pooler's — pose as PostgreSQL. The steering repoints the
    /// route when that replica stops streaming.
    /// </summary>
    public static NodeConfig? ReadServer(ClusterConfig cluster, PoolerConfig pooler, NodeConfig? primary, IReadOnlyList<NodeConfig> replicas)
    {
        if (replicas.Count == 0)
        {
            return primary;
        }
        var nodeOrder = cluster.Nodes.Select(n => n.Name).ToList();
        var ordered = replicas.OrderBy(r => nodeOrder.IndexOf(r.Name)).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
        var position = Math.Max(0, cluster.Poolers.Select(p => p.Name).ToList().IndexOf(pooler.Name));
        return ordered[position % ordered.Count];
    }

    /// <summary>The auth_file: SCRAM secrets only, never a plaintext password.</summary>
    public static string RenderUserList(IEnumerable<KeyValuePair<string, string>> userScramSecrets)
    {
        var sb = new StringBuilder();
        foreach (var (user, secret) in userScramSecrets)
        {
            if (!secret.StartsWith("SCRAM-SHA-256$", StringComparison.Ordinal))
            {
                throw new ArgumentException($"the userlist entry for {user} is not a SCRAM secret");
            }
            sb.AppendLine($"\"{user}\" \"{secret}\"");
        }
        return sb.ToString();
    }
}
