using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Security;
using PgWarden.Monitoring.Checks;

namespace PgWarden.Cli.Runtime;

/// <summary>`pgwarden check archive`: <see cref="ArchiveProbe"/> on the primary, as one checklist item (FAIL names what broke).</summary>
public static class ArchiveCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<CheckResult> RunAsync(ClusterConfig cluster, NodeConfig primary, ClusterSecrets secrets, CancellationToken ct)
    {
        const string name = "wal archive";
        if (cluster.Backup is null)
        {
            return CheckResult.Fail(name, $"cluster {cluster.Name} has no backup: section, so no WAL archive (see examples/cluster.yaml)");
        }
        using var env = new BackupEnvironment(cluster);
        await using var sql = PrimaryLocator.Superuser(cluster, primary, secrets, "postgres");
        try
        {
            await using var conn = await sql.OpenConnectionAsync(ct);
            await using var cmd = new Npgsql.NpgsqlCommand("SELECT system_identifier::text FROM pg_control_system()", conn);
            var layout = new RepositoryLayout(cluster.Name, (string)(await cmd.ExecuteScalarAsync(ct))!);
            return CheckResult.Ok(name, await new ArchiveProbe(env.Repository, layout, sql).RunAsync(Timeout, ct));
        }
        catch (PgWardenException e)
        {
            return CheckResult.Fail(name, e.Message);
        }
    }
}
