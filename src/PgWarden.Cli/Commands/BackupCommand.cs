using System.CommandLine;
using PgWarden.Backup.Physical;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Security;
using PgWarden.Core.Errors;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden backup physical|logical|list|verify|prune …`: base backups into the repository and the catalog.</summary>
public static class BackupCommand
{
    public static Command Create()
    {
        var cmd = new Command("backup", "take, list, verify and prune backups in the cluster's backup repository");
        cmd.Subcommands.Add(Physical());
        cmd.Subcommands.Add(Logical());
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Verify());
        cmd.Subcommands.Add(Prune());
        cmd.Subcommands.Add(RotateKeyCommand.Create());
        return cmd;
    }

    private static Command Physical()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var fromReplica = new Option<bool>("--from-replica") { Description = "copy from a streaming replica instead of the primary" };
        var wait = new Option<int>("--archive-wait") { Description = "seconds to wait for the WAL the backup needs to be archived", DefaultValueFactory = _ => 300 };
        var json = CommandAction.JsonOption();
        var cmd = new Command("physical", "stream a base backup (pg_basebackup) zstd-compressed and checksummed into the repository; completes when its WAL is archived") { config, dir, fromReplica, wait, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var archiveWait = TimeSpan.FromSeconds(ArgumentRules.AtLeast("--archive-wait", p.GetValue(wait), 1));
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            env.SweepLocalStaging();
            var source = await env.SourceAsync(p.GetValue(fromReplica), ct);
            await using (source.NodeSql)
            await using (source.PrimarySql)
            {
                var manifest = await new PhysicalBackup(env.Repository, env.Binaries, env.Launcher, Console.WriteLine).RunAsync(source, archiveWait, ct);
                return JsonOutput.Result(0, new { backup = BackupListEntry.From(manifest) });
            }
        });
        return cmd;
    }

    private static Command Logical()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var db = new Option<string?>("--db") { Description = "database to dump (default: the app database)" };
        var format = new Option<string>("--format") { Description = "directory (pg_dump -Fd -j, zstd per file) or plain-gzip (the runbook's .sql.gz)", DefaultValueFactory = _ => "directory" };
        format.AcceptOnlyFromAmong(Backup.Logical.LogicalBackup.Formats);
        var jobs = new Option<int>("--jobs", "-j") { Description = "parallel pg_dump jobs (directory format)", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var slice = new Option<int>("--slice-mb") { Description = "directory format: tables of at least this many MB are read in slices of this size over --jobs connections, beside pg_dump (0: pg_dump reads every table)", DefaultValueFactory = _ => 64 };
        var json = CommandAction.JsonOption();
        var cmd = new Command("logical", "pg_dump a database into the repository with the runbook's listings (\\l+, \\dt+)") { config, dir, db, format, jobs, slice, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var sliceMb = ArgumentRules.AtLeast("--slice-mb", p.GetValue(slice), 0);
            var jobCount = ArgumentRules.AtLeast("--jobs", p.GetValue(jobs), 1);
            if (p.GetValue(db) is { } named)
            {
                RestoreLogicalCommand.CheckDatabaseName(named);
            }
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            var database = RestoreLogicalCommand.CheckDatabaseName(p.GetValue(db) ?? env.Cluster.Database.Name);
            var primary = await PrimaryLocator.FindAsync(env.Cluster, ct);
            var secrets = ClusterSecrets.Load(env.Cluster.SecretsFile);
            await CheckDatabaseExistsAsync(env, primary, secrets, database, ct);
            env.SweepLocalStaging();
            var systemId = Backup.Wal.ControlFile.SystemIdentifier(primary.DataDir);
            await using var sql = PrimaryLocator.Superuser(env.Cluster, primary, secrets, database);
            var manifest = await new Backup.Logical.LogicalBackup(env.Cluster, env.Repository, env.Binaries, env.Launcher, env.Tools, Console.WriteLine)
                .RunAsync(primary, systemId, database, p.GetValue(format)!, jobCount, sql, sliceMb * (1L << 20), ct);
            return JsonOutput.Result(0, new { backup = BackupListEntry.From(manifest) });
        });
        return cmd;
    }

    /// <summary>Refuses (exit 2, one line, before any lock or file) a database the primary does not have or that takes no connections.</summary>
    private static async Task CheckDatabaseExistsAsync(BackupEnvironment env, Core.Config.NodeConfig primary, ClusterSecrets secrets, string database, CancellationToken ct)
    {
        await using var source = PrimaryLocator.Superuser(env.Cluster, primary, secrets, "postgres");
        await using var conn = await source.OpenConnectionAsync(ct);
        await using var cmd = new Npgsql.NpgsqlCommand("SELECT datname, datallowconn FROM pg_database WHERE NOT datistemplate OR datname = $1 ORDER BY datname", conn);
        cmd.Parameters.AddWithValue(database);
        var databases = new Dictionary<string, bool>(StringComparer.Ordinal);
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                databases[r.GetString(0)] = r.GetBoolean(1);
            }
        }
        if (!databases.TryGetValue(database, out var allowsConnections))
        {
            throw ArgumentRules.Bad($"--db: there is no database \"{database}\" on {primary.Name} (it has: {string.Join(", ", databases.Keys.Select(d => $"\"{d}\""))})");
        }
        if (!allowsConnections)
        {
            throw ArgumentRules.Bad($"--db: database \"{database}\" on {primary.Name} does not accept connections (datallowconn is false), so it cannot be dumped");
        }
    }

    private static Command List()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var json = CommandAction.JsonOption();
        var cmd = new Command("list", "list the complete backups in the repository, oldest first") { config, dir, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            var all = await env.Catalog.ListAsync(ct);
            var incomplete = await env.Catalog.ListIncompleteAsync(ct);
            if (p.GetValue(json))
            {
                return JsonOutput.Result(0, new
                {
                    cluster = env.Cluster.Name, repository = env.Repository.Description,
                    backups = all.Select(BackupListEntry.From).Concat(incomplete.Select(BackupListEntry.From)),
                });
            }
            foreach (var b in incomplete)
            {
                Console.WriteLine($"{(b.Running ? "running" : "incomplete")} {b.Type} backup {b.Id}: {b.Files} file(s), {PgWarden.Backup.Progress.Mb(b.StoredSize)}, no manifest{(b.Running ? "" : " (never restored; `pgwarden backup prune` removes it)")}");
            }
            if (all.Count == 0)
            {
                Console.WriteLine($"no backups of cluster {env.Cluster.Name} in {env.Repository.Description}");
                return 0;
            }
            var table = new Table().AddColumns("id", "type", "started (UTC)", "duration", "WAL / database", "size", "stored", "verified");
            foreach (var m in all)
            {
                table.AddRow(m.Id, m.Type, $"{m.StartTime:yyyy-MM-dd HH:mm:ss}", $"{m.DurationSeconds:0.0} s",
                    Markup.Escape(m.Type == "physical" ? $"{m.StartLsn} … {m.StopLsn} (tl {m.Timeline})" : $"{m.Database} ({m.Format})"),
                    PgWarden.Backup.Progress.Mb(m.Size), PgWarden.Backup.Progress.Mb(m.StoredSize),
                    m.Verified is { } v ? $"{(v.Ok ? "ok" : "FAILED")} {v.Time:yyyy-MM-dd}{(v.RestoreTested ? " +restore" : "")}" : "-");
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }

    private static Command Verify()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var id = new Argument<string>("id") { Description = "backup id (see `pgwarden backup list`), or latest" };
        var restoreTest = new Option<bool>("--restore-test") { Description = "also restore the backup into a scratch PostgreSQL on a free loopback port and query every user table" };
        var scratch = new Option<string?>("--scratch-dir") { Description = "where to unpack and restore (default: the temp directory; needs about the backup's size free)" };
        var timeout = new Option<int>("--timeout") { Description = "seconds the restore test's recovery may take", DefaultValueFactory = _ => 3600 };
        var jobs = new Option<int>("--jobs", "-j") { Description = "parallel pg_restore jobs for a logical restore test", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var type = new Option<string?>("--type") { Description = "with latest: the newest backup of this type (physical: the newest on the history of the newest archived timeline; logical)" };
        type.AcceptOnlyFromAmong("physical", "logical");
        var db = new Option<string?>("--db") { Description = "with latest --type logical: the newest logical backup of this database (default: the app database)" };
        var json = CommandAction.JsonOption();
        var cmd = new Command("verify", "check a backup's checksums, the archived WAL it needs and pg_verifybackup; --restore-test restores and queries it; records the outcome for `backup list`")
        {
            config, dir, id, restoreTest, scratch, timeout, jobs, type, db, json,
        };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var scratchDir = Path.GetFullPath(p.GetValue(scratch) ?? Path.GetTempPath());
            if (!Directory.Exists(scratchDir))
            {
                throw new PgWardenException(ExitCodes.NotFound, $"--scratch-dir {scratchDir} does not exist");
            }
            var options = new Backup.Verify.VerifyOptions(p.GetValue(restoreTest), scratchDir,
                TimeSpan.FromSeconds(ArgumentRules.AtLeast("--timeout", p.GetValue(timeout), 1)), ArgumentRules.AtLeast("--jobs", p.GetValue(jobs), 1));
            if (p.GetValue(db) is { } named && p.GetValue(type) == "physical")
            {
                throw ArgumentRules.Bad("--db goes with logical backups (--type logical)");
            }
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            env.SweepLocalStaging(scratchDir);
            var manifest = p.GetValue(id) == "latest" && (p.GetValue(db) is not null || p.GetValue(type) == "logical")
                ? await env.Catalog.FindLogicalAsync("latest", p.GetValue(db) ?? env.Cluster.Database.Name, ct)
                : p.GetValue(id) == "latest" && p.GetValue(type) == "physical"
                    // The newest backup that can restore the cluster as it runs now, not one of a branch a failover or rebuild left.
                    ? (await RestoreCommand.ChooseBackupAsync(env, "latest", new RecoveryTarget(null, null, null, null, false, "promote"), ct)).Backup
                    : await env.Catalog.FindAsync(p.GetValue(id)!, p.GetValue(type), ct);
            var report = await PhaseProgress.RunAsync($"verifying {manifest.Type} backup {manifest.Id}", phases =>
                new Backup.Verify.BackupVerifier(env.Cluster, env.Repository, env.Binaries, env.Launcher, env.Tools, env.PgWardenBinary, phases.Note)
                    .VerifyAsync(manifest, options, ct), announcePlain: false);
            JsonOutput.Result(0, new
            {
                backup = manifest.Id, type = manifest.Type, ok = report.Ok, restore_tested = report.RestoreTested,
                passed = report.Passed, notes = report.Notes, problems = report.Problems,
            });
            return report.Ok ? 0 : throw new Core.Errors.PgWardenException(Core.Errors.ExitCodes.OperationFailed, report.ErrorLine(manifest.Id));
        });
        return cmd;
    }

    private static Command Prune()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var dryRun = new Option<bool>("--dry-run") { Description = "only print what would be removed" };
        var keepDays = new Option<int?>("--keep-days") { Description = "keep backups younger than N days (default: backup.retention_days, 30)" };
        var keepCount = new Option<int?>("--keep-count") { Description = "keep the newest N physical backups and the newest N logical backups of each database" };
        var json = CommandAction.JsonOption();
        var cmd = new Command("prune", "remove expired backups, incomplete backups that are not running, and the archived WAL no kept physical backup needs") { config, dir, dryRun, keepDays, keepCount, json };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            int? days = p.GetValue(keepDays);
            int? count = p.GetValue(keepCount);
            if (days is < 0 || count is < 1)
            {
                throw new Core.Errors.PgWardenException(Core.Errors.ExitCodes.Usage, "--keep-days must be 0 or more and --keep-count 1 or more");
            }
            using var env = new BackupEnvironment(ClusterLocator.Load(p.GetValue(config), p.GetValue(dir)));
            env.SweepLocalStaging();
            var backup = env.Cluster.Backup!;
            if (days is null && count is null)
            {
                days = backup.RetentionDays;
                count = backup.RetentionCount;
            }
            var removed = await new Backup.Catalog.Pruner(env.Repository, env.Catalog, env.Cluster.Name, Console.WriteLine).RunAsync(days, count, p.GetValue(dryRun), ct);
            return JsonOutput.Result(0, new { dry_run = p.GetValue(dryRun), keep_days = days, keep_count = count, removed_keys = removed });
        });
        return cmd;
    }
}
