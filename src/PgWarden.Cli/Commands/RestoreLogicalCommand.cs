using System.CommandLine;
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
        var jobs = new Option<int>("--jobs", "-j") { Description = "parallel pg_restore jobs (1 or more)", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var source = new Option<string?>("--source-db") { Description = "with latest: the newest backup of this database (default: the app database)" };
        var noTablespaces = new Option<bool>("--no-tablespaces") { Description = "put every object into the default tablespace (for a node without the source's tablespaces)" };
        var createRoles = new Option<bool>("--create-roles") { Description = "create roles the backup needs that do not exist, as NOLOGIN roles (default: refuse, naming them)" };
        var json = CommandAction.JsonOption();
        var force = new Option<bool>("--force") { Description = "drop the target database first when an interrupted restore-logical left it (its comment marks it; any other existing database is still refused)" };
        var cmd = new Command("restore-logical", "restore a logical backup into a new database on the primary, with the source's owner, encoding, locale, settings, comment and ACL (checksums verified, pg_restore -j)")
        {
            config, dir, id, db, jobs, source, noTablespaces, createRoles, force, json,
        };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var database = CheckDatabaseName(p.GetValue(db)!);
            var options = new LogicalRestoreOptions(ArgumentRules.AtLeast("--jobs", p.GetValue(jobs), 1), p.GetValue(noTablespaces), p.GetValue(createRoles), p.GetValue(force));
            var sourceDb = p.GetValue(source) is { } s ? CheckDatabaseName(s) : null;
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            env.SweepLocalStaging();
            var manifest = await env.Catalog.FindLogicalAsync(p.GetValue(id)!, sourceDb ?? env.Cluster.Database.Name, ct);
            var primary = await PrimaryLocator.FindAsync(env.Cluster, ct);
            await PhaseProgress.RunAsync($"restoring logical backup {manifest.Id} into database \"{database}\" on {primary.Name}", async phases =>
            {
                await new LogicalRestore(env.Cluster, env.Repository, env.Binaries, env.Launcher, env.Tools, phases.Note)
                    .RestoreAsync(manifest, primary, database, options, ct);
                return 0;
            }, announcePlain: false);
            return JsonOutput.Result(0, new { backup = manifest.Id, source_database = manifest.Database, database, node = primary.Name });
        });
        return cmd;
    }

    /// <summary>
    /// Any name PostgreSQL accepts for a database — mixed case, spaces, non-ASCII, quotes — is fine (every use
    /// quotes it); only an empty name, a NUL byte and more than 63 bytes (NAMEDATALEN) are refused.
    /// </summary>
    public static string CheckDatabaseName(string name) =>
        name.Length == 0 ? throw new PgWardenException(ExitCodes.Usage, "a database name must not be empty")
        : name.Contains('\0', StringComparison.Ordinal) ? throw new PgWardenException(ExitCodes.Usage, "a database name must not contain a NUL byte")
        : System.Text.Encoding.UTF8.GetByteCount(name) > 63 ? throw new PgWardenException(ExitCodes.Usage, $"database name '{name}' is longer than PostgreSQL's 63 bytes")
        : name;
}
