using System.CommandLine;
using System.Text.RegularExpressions;
using PgWarden.Backup.Logical;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden restore-logical ID --db NAME`: a logical backup into a new database on the primary (pg_restore -j).</summary>
public static class RestoreLogicalCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var id = new Argument<string>("id") { Description = "logical backup id (see `pgwarden backup list`), or latest" };
        var db = new Option<string>("--db") { Description = "the new database to restore into (must not exist)", Required = true };
        var jobs = new Option<int>("--jobs", "-j") { Description = "parallel pg_restore jobs", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var cmd = new Command("restore-logical", "restore a logical backup into a new database on the primary (checksums verified, pg_restore -j)") { config, dir, id, db, jobs };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            var database = CheckDatabaseName(p.GetValue(db)!);
            var manifest = await env.Catalog.FindAsync(p.GetValue(id)!, "logical", ct);
            var primary = await PrimaryLocator.FindAsync(env.Cluster, ct);
            await new LogicalBackup(env.Cluster, env.Repository, env.Binaries, env.Launcher, env.Tools, Console.WriteLine)
                .RestoreAsync(manifest, primary, database, Math.Max(1, p.GetValue(jobs)), ct);
            return 0;
        });
        return cmd;
    }

    public static string CheckDatabaseName(string name) =>
        Regex.IsMatch(name, "^[a-z_][a-z0-9_]{0,62}$") ? name
            : throw new PgWardenException(ExitCodes.Unreachable, $"database name '{name}' must be a lower-case SQL identifier (a-z, 0-9, '_')");
}
