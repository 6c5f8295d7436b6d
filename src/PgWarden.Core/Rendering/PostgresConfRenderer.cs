using System.Text;
using PgWarden.Core.Tuning;

namespace PgWarden.Core.Rendering;

/// <summary>Renders a node's postgresql.conf: the runbook's settings, the tuned values, replication and overrides.</summary>
public static class PostgresConfRenderer
{
    public static string Render(NodeRenderContext ctx)
    {
        var cluster = ctx.Cluster;
        var node = ctx.Node;
        var sb = new StringBuilder();
        sb.AppendLine($"# postgresql.conf for node {node.Name} of cluster {cluster.Name}.");
        sb.AppendLine("# Written by PgWarden at every start; edit the cluster configuration instead.");
        var tuned = TuningCalculator.Compute(ctx.Hardware);
        var overrides = cluster.Postgres.Parameters.ToDictionary(p => p.Key, p => p.Value);
        var written = new Dictionary<string, string>(StringComparer.Ordinal);

        void Section(string title) => sb.AppendLine().AppendLine($"# {title}");
        void Set(string name, string value, string? why = null)
        {
            written[name] = overrides.TryGetValue(name, out var chosen) ? chosen : value;
            if (overrides.Remove(name, out var custom))
            {
                sb.AppendLine($"{name} = {ConfValue.Pg(custom)}    # overridden in {cluster.Name} config (computed: {value})");
                return;
            }
            sb.AppendLine(why is null ? $"{name} = {ConfValue.Pg(value)}" : $"{name} = {ConfValue.Pg(value)}    # {why}");
        }

        Section("Connections");
        Set("listen_addresses", node.Address);
        Set("port", node.Port.ToString());
        Set("unix_socket_directories", node.SocketDir(cluster));
        Set("cluster_name", $"{cluster.Name}-{node.Name}");
        Set("superuser_reserved_connections", "3");
        Set("password_encryption", "scram-sha-256");
        RenderTls(cluster, node, Section, Set);

        Section("Memory, checkpoints and planner (computed from the host, see `pgwarden tune`)");
        foreach (var p in tuned)
        {
            Set(p.Name, p.Value, p.Why);
        }
        Set("checkpoint_timeout", "15min");

        Section("Replication");
        Set("wal_level", "replica");
        Set("max_wal_senders", "10");
        Set("max_replication_slots", "10");
        Set("wal_keep_size", "2GB");
        Set("wal_log_hints", "on", "needed by pg_rewind when a former primary rejoins");
        Set("hot_standby", "on");
        Set("hot_standby_feedback", "on");
        Set("wal_retrieve_retry_interval", "1s", "a replica retries its primary (or the archive) every second, not every 5 s, after a failover");
        if (ctx.Upstream is { } up)
        {
            var conninfo = $"host={ConfValue.Conninfo(up.Address)} port={up.Port} " +
                           $"user={cluster.Database.ReplicationUser} passfile={ConfValue.Conninfo(ctx.PassFile)} " +
                           $"application_name={node.Name} {cluster.Tls.LibpqOptions(ConfValue.Conninfo)} connect_timeout=5";
            Set("primary_conninfo", conninfo, $"follows {up.Name}; password only in the passfile{(cluster.Tls.Enabled ? "; TLS, server verified against the cluster CA" : "")}");
            Set("primary_slot_name", node.SlotName);
        }

        if (cluster.Backup is { } backup)
        {
            Section("WAL archiving (backup repository configured; see `pgwarden backup`)");
            var bin = ConfValue.Shell(ctx.PgWardenBinary);
            var conf = ConfValue.Shell(cluster.ConfigFile);
            // "always": replicas archive what they receive as well, so a segment the old primary
            // completed but had not archived before it crashed still reaches the archive; the
            // second push of identical content is a no-op (wal-push compares checksums).
            Set("archive_mode", "always", "replicas archive too: no gap after a failover");
            Set("archive_command", $"{bin} wal-push --config {conf} %p", "durable, checksummed, never overwrites");
            Set("archive_timeout", backup.ArchiveTimeoutSeconds.ToString(), "force a segment switch at least this often (seconds)");
            Set("restore_command", $"{bin} wal-fetch --config {conf} %f %p", "replicas and PITR fetch archived WAL");
        }

        Section("Logging");
        Set("log_destination", "stderr");
        Set("logging_collector", "on");
        Set("log_directory", "log");
        Set("log_filename", "postgresql-%Y-%m-%d_%H%M%S.log");
        Set("log_truncate_on_rotation", "off");
        Set("log_rotation_age", "1d");
        Set("log_rotation_size", "100MB");
        Set("log_line_prefix", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ");
        Set("log_min_duration_statement", "1000", "slow queries (> 1 s)");
        Set("log_checkpoints", "on");
        Set("log_connections", "on");
        Set("log_disconnections", "on");
        Set("log_lock_waits", "on");
        Set("log_statement", "ddl");
        Set("log_temp_files", "0");

        Section("Statistics");
        Set("shared_preload_libraries", "pg_stat_statements");
        Set("pg_stat_statements.track", "all");
        Set("pg_stat_statements.max", "10000");
        Set("track_io_timing", "on");

        Section("Autovacuum");
        Set("autovacuum", "on");
        Set("autovacuum_max_workers", "3");
        Set("autovacuum_naptime", "30s");
        Set("autovacuum_vacuum_threshold", "50");
        Set("autovacuum_analyze_threshold", "50");
        Set("autovacuum_vacuum_scale_factor", "0.1");
        Set("autovacuum_analyze_scale_factor", "0.05");

        if (overrides.Count > 0)
        {
            Section($"Overrides from the {cluster.Name} configuration");
            foreach (var p in cluster.Postgres.Parameters.Where(p => overrides.ContainsKey(p.Key)))
            {
                sb.AppendLine($"{p.Key} = {ConfValue.Pg(p.Value)}");
                written[p.Key] = p.Value;
            }
        }
        if (ctx.HotStandbyFloor is { } floor)
        {
            RaiseToFloor(sb, written, floor);
        }
        return sb.ToString();
    }

    /// <summary>
    /// ssl = on with the node's own certificate and key and the cluster CA (PostgreSQL docs, 19.9
    /// "Secure TCP/IP Connections with SSL"); with TLS disabled, ssl = off said out loud.
    /// </summary>
    private static void RenderTls(Config.ClusterConfig cluster, Config.NodeConfig node, Action<string> section, Action<string, string, string?> set)
    {
        var tls = cluster.Tls;
        section(tls.Enabled ? "TLS (every TCP connection; pg_hba.conf accepts only hostssl)" : "TLS: disabled in the cluster configuration (tls: disabled)");
        if (!tls.Enabled)
        {
            set("ssl", "off", "plain text, as configured");
            return;
        }
        set("ssl", "on", null);
        set("ssl_cert_file", tls.CertFile(node.Name), null);
        set("ssl_key_file", tls.KeyFile(node.Name), "0600, owned by the server OS user");
        set("ssl_ca_file", tls.CaFile, "the cluster CA");
        set("ssl_min_protocol_version", "TLSv1.2", null);
    }

    /// <summary>PostgreSQL's defaults for the hot-standby settings PgWarden does not always render.</summary>
    private static readonly Dictionary<string, int> s_hotStandbyDefaults = new(StringComparer.Ordinal)
    {
        ["max_connections"] = 100,
        ["max_worker_processes"] = 8,
        ["max_wal_senders"] = 10,
        ["max_prepared_transactions"] = 0,
        ["max_locks_per_transaction"] = 64,
    };

    /// <summary>
    /// A hot standby may not run with lower values than its WAL was written with (PostgreSQL docs,
    /// "Hot Standby", Administrator's Overview): raise them, later lines win in postgresql.conf.
    /// </summary>
    private static void RaiseToFloor(StringBuilder sb, Dictionary<string, string> written, Ha.HotStandbySettings floor)
    {
        var raised = new List<string>();
        foreach (var (name, minimum) in floor.Parameters)
        {
            var current = written.TryGetValue(name, out var text) && int.TryParse(text, out var v) ? v : s_hotStandbyDefaults[name];
            if (current < minimum)
            {
                raised.Add($"{name} = {minimum}    # {current} configured; this replica replays WAL written with {minimum}");
            }
        }
        if (raised.Count > 0)
        {
            sb.AppendLine().AppendLine("# Hot standby: at least the primary's values (lowered on the primary first; replicas follow once their WAL says so)");
            raised.ForEach(line => sb.AppendLine(line));
        }
    }
}
