using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Pooler;

/// <summary>
/// PgBouncer's admin console (PAUSE, RESUME, SHOW …). It speaks only the simple query protocol (Npgsql
/// always sends the extended one), so this goes through psql. The admin password reaches psql in its
/// environment (PGPASSWORD, set for that child only): never on its command line, and never in a file —
/// a passfile in /tmp outlived a process killed mid-call. A process's environment is readable only by
/// its own user and root (/proc/PID/environ, proc(5)), who can read secrets.yaml anyway. The first call of
/// a process removes the <c>pgwarden-pgbouncer-*.pgpass</c> files earlier versions left in the temporary
/// directory (its own, older than 10 minutes: <see cref="StaleOwnFiles"/>).
/// </summary>
public sealed class PgBouncerAdmin(ClusterConfig cluster, ClusterSecrets secrets, IToolRunner tools)
{
    /// <summary>The passfiles PgWarden versions before 2026-11 wrote to the temporary directory (one per admin call).</summary>
    public const string LegacyPassfilePattern = "pgwarden-pgbouncer-*.pgpass";

    private static int _legacyPassfilesRemoved;

    private string Psql => Path.Combine(cluster.Postgres.BinDir, "psql");

    public Task<string> RunAsync(PoolerConfig pooler, string command, TimeSpan timeout, CancellationToken ct) => RunAsync(pooler, [command], timeout, header: false, ct);

    /// <summary>
    /// RELOAD (pgbouncer.ini read now, not when a SIGHUP is handled) and then RESUME of
    /// <paramref name="database"/>, in one admin session: the paused clients' transactions go to the
    /// routes just written. Throws <see cref="PgWardenException"/> (its message contains "is not
    /// paused" when nobody had paused it).
    /// </summary>
    public Task<string> ReloadAndResumeAsync(PoolerConfig pooler, string database, TimeSpan timeout, CancellationToken ct) =>
        RunAsync(pooler, ["RELOAD", $"RESUME {database}"], timeout, header: false, ct);

    private async Task<string> RunAsync(PoolerConfig pooler, IReadOnlyList<string> commands, TimeSpan timeout, bool header, CancellationToken ct)
    {
        var command = string.Join("; ", commands);
        if (Interlocked.Exchange(ref _legacyPassfilesRemoved, 1) == 0)
        {
            StaleOwnFiles.Remove(Path.GetTempPath(), LegacyPassfilePattern, TimeSpan.FromMinutes(10), DateTime.UtcNow);
        }
        var (host, tlsEnvironment) = Endpoint(cluster, pooler);
        var result = await tools.RunAsync(new ToolCommand(Psql,
        [
            "-h", host, "-p", pooler.Port.ToString(), "-U", cluster.Database.PoolerAdminUser, "-d", "pgbouncer",
            "-X", "-q", "-A", header ? "--pset=footer=off" : "-t", "-v", "ON_ERROR_STOP=1",
            .. commands.SelectMany(c => new[] { "-c", c }),
        ])
        {
            AsServerUser = false,
            Timeout = timeout,
            Environment = new Dictionary<string, string>(tlsEnvironment)
            {
                ["PGPASSWORD"] = secrets.PoolerAdminPassword, ["PGCONNECT_TIMEOUT"] = "3",
            },
        }, ct);
        if (!result.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"PgBouncer {pooler.Name}: {command} failed: {result.Tail()}");
        }
        return result.StandardOutput;
    }

    /// <summary>
    /// The PgBouncer's Unix socket directory when that PgBouncer runs on this host (its socket
    /// <c>.s.PGSQL.{port}</c> exists in the pooler's run directory, <c>unix_socket_dir</c>), else null (TCP).
    /// A PgBouncer host has no admin client certificate (`secrets export --role pooler` must not hand out
    /// what opens the agents' API), and PgBouncer requires TLS only on TCP connections (client_tls_sslmode;
    /// its client.c: "require SSL except on unix socket"): over the socket its own pooler pauses, reloads
    /// and resumes it also with <c>pooler_client_sslmode: verify-ca/verify-full</c> (hostile review 17).
    /// </summary>
    public static string? LocalSocketDir(ClusterConfig cluster, PoolerConfig pooler)
    {
        var dir = pooler.SocketDir(cluster);
        return File.Exists(Path.Combine(dir, $".s.PGSQL.{pooler.Port}")) ? dir : null;
    }

    /// <summary>
    /// Where psql reaches the admin console: the <see cref="LocalSocketDir"/> without TLS settings, else the
    /// pooler's address with libpq's TLS environment (the admin certificate when PgBouncer verifies clients).
    /// </summary>
    public static (string Host, IReadOnlyDictionary<string, string> TlsEnvironment) Endpoint(ClusterConfig cluster, PoolerConfig pooler) =>
        LocalSocketDir(cluster, pooler) is { } socketDir
            ? (socketDir, new Dictionary<string, string>())
            : (pooler.Address, Postgres.Tls.ClientTls.LibpqEnvironment(cluster, clientCertificate: cluster.Tls.PoolerClientMode != PoolerClientTlsMode.Require));

    /// <summary>
    /// Whether <paramref name="database"/> is paused in the PgBouncer (SHOW DATABASES, its "paused"
    /// column found by name, not position); null when the PgBouncer does not list it or has no such column.
    /// </summary>
    public async Task<bool?> IsPausedAsync(PoolerConfig pooler, string database, CancellationToken ct)
    {
        var lines = (await RunAsync(pooler, ["SHOW DATABASES"], TimeSpan.FromSeconds(5), header: true, ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            return null;
        }
        var columns = lines[0].Split('|');
        var paused = Array.IndexOf(columns, "paused");
        var row = lines.Skip(1).Select(l => l.Split('|')).FirstOrDefault(f => f.Length == columns.Length && f[0] == database);
        return paused < 0 || row is null ? null : row[paused] == "1";
    }

    /// <summary>Whether PgBouncer currently routes <paramref name="database"/> to <paramref name="host"/>:<paramref name="port"/> (SHOW DATABASES).</summary>
    public async Task<bool> RoutesToAsync(PoolerConfig pooler, string database, string host, int port, CancellationToken ct) =>
        RoutesTo(await RunAsync(pooler, ["SHOW DATABASES"], TimeSpan.FromSeconds(5), header: false, ct), database, host, port);

    /// <summary>
    /// Whether SHOW DATABASES rows (unaligned, tuples only: name|host|port|…) route <paramref name="database"/>
    /// to that host and port. The port counts: nodes may share an address (ConfigLoader allows it).
    /// </summary>
    public static bool RoutesTo(string rows, string database, string host, int port) =>
        rows.Split('\n').Select(r => r.Split('|')).FirstOrDefault(f => f.Length > 2 && f[0] == database) is { } row
        && row[1] == host && row[2].Trim() == port.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
