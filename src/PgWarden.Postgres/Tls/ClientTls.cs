using Npgsql;
using PgWarden.Core.Config;

namespace PgWarden.Postgres.Tls;

/// <summary>
/// How PgWarden's own clients connect over TCP to the cluster's PostgreSQL nodes and PgBouncers:
/// with TLS on, the server is verified against the cluster CA and its address (verify-full); with
/// TLS disabled (only when the configuration says so), plain text.
/// </summary>
public static class ClientTls
{
    /// <summary>
    /// Sets SslMode (VerifyFull with the cluster CA as RootCertificate, or Disable) on an Npgsql
    /// connection string; <paramref name="toPooler"/>: also the admin client certificate when the
    /// PgBouncers verify their clients' certificates.
    /// </summary>
    public static NpgsqlConnectionStringBuilder Apply(NpgsqlConnectionStringBuilder builder, ClusterConfig cluster, bool toPooler = false)
    {
        var tls = cluster.Tls;
        if (tls.Enabled)
        {
            builder.SslMode = SslMode.VerifyFull;
            builder.RootCertificate = tls.CaFile;
            if (toPooler && tls.PoolerClientMode != PoolerClientTlsMode.Require && tls.AdminCertFile is { } cert && tls.AdminKeyFile is { } key)
            {
                builder.SslCertificate = cert;
                builder.SslKey = key;
            }
        }
        else
        {
            builder.SslMode = SslMode.Disable;
        }
        return builder;
    }

    /// <summary>
    /// libpq environment for tools (pg_basebackup, psql) started against a node or a PgBouncer:
    /// PGSSLMODE and PGSSLROOTCERT (libpq docs, 34.15 "Environment Variables"). With
    /// <paramref name="clientCertificate"/> also PGSSLCERT/PGSSLKEY (the admin certificate, for a
    /// PgBouncer that verifies its clients).
    /// </summary>
    public static Dictionary<string, string> LibpqEnvironment(ClusterConfig cluster, bool clientCertificate = false)
    {
        var tls = cluster.Tls;
        if (!tls.Enabled)
        {
            return new() { ["PGSSLMODE"] = "disable" };
        }
        var env = new Dictionary<string, string> { ["PGSSLMODE"] = "verify-full", ["PGSSLROOTCERT"] = tls.CaFile };
        if (clientCertificate && tls.AdminCertFile is { } cert && tls.AdminKeyFile is { } key)
        {
            env["PGSSLCERT"] = cert;
            env["PGSSLKEY"] = key;
        }
        return env;
    }
}
