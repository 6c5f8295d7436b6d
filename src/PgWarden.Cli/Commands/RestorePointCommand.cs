using System.CommandLine;
using Npgsql;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Security;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden restore-point NAME`: a named point to recover to with `restore --target-name NAME`.</summary>
public static class RestorePointCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var name = new Argument<string>("name") { Description = "the restore point's name" };
        var json = CommandAction.JsonOption();
        var cmd = new Command("restore-point", "create a named restore point on the primary (pg_create_restore_point) for restore --target-name, and switch the WAL segment so it is archived at once") { config, dir, name, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var pointName = CheckName("restore point name", p.GetValue(name));
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            var primary = await PrimaryLocator.FindAsync(cluster, ct);
            await using var source = PrimaryLocator.Superuser(cluster, primary, ClusterSecrets.Load(cluster.SecretsFile), "postgres");
            await using var conn = await source.OpenConnectionAsync(ct);
            await using var cmd = new NpgsqlCommand("SELECT pg_create_restore_point($1)::text", conn) { Parameters = { new() { Value = pointName } } };
            var lsn = (string)(await cmd.ExecuteScalarAsync(ct))!;
            // Finish the segment so the point reaches the archive now, not after archive_timeout.
            await using var switchWal = new NpgsqlCommand("SELECT pg_walfile_name(pg_switch_wal())", conn);
            var segment = (string)(await switchWal.ExecuteScalarAsync(ct))!;
            Console.WriteLine($"restore point '{pointName}' created on {primary.Name} at LSN {lsn}; switched WAL so that {segment} is archived next");
            return JsonOutput.Result(0, new { name = pointName, node = primary.Name, lsn, segment });
        });
        return cmd;
    }

    /// <summary>A restore point name PostgreSQL accepts: not blank, at most 63 bytes (MAXFNAMELEN - 1); exit 2 otherwise.</summary>
    public static string CheckName(string what, string? name)
    {
        ArgumentRules.NotBlank(what, name);
        return System.Text.Encoding.UTF8.GetByteCount(name!) <= 63 ? name!
            : throw ArgumentRules.Bad($"{what} '{name}' is longer than 63 bytes (PostgreSQL's limit for restore points)");
    }
}
