using System.Globalization;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Logical;

/// <summary>
/// `pgwarden restore-logical`: a logical backup into a new database on a node. The backup's files are
/// downloaded (checksums verified) into a private staging directory; the database is created with the
/// source's owner, encoding, locale and connection limit, then given its comment, settings and ACL
/// (database.json), before pg_restore -j (and the slices) load it. Roles the backup references that
/// the node lacks are refused by name, or created NOLOGIN on request. A failed restore drops the
/// database it created.
/// </summary>
public sealed class LogicalRestore(ClusterConfig cluster, IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher, IToolRunner tools, Action<string> output)
{
    private string Psql => Path.Combine(bin.BinDir, "psql");

    /// <summary>Downloads and restores <paramref name="backup"/> into the new database <paramref name="database"/> on <paramref name="node"/>.</summary>
    public async Task RestoreAsync(BackupManifest backup, NodeConfig node, string database, LogicalRestoreOptions options, CancellationToken ct)
    {
        var staging = LocalStaging.NewPath(Path.GetTempPath(), LocalStaging.RestoreDump);
        try
        {
            await StageAsync(backup, staging, ct);
            await RestoreStagedAsync(backup, staging, node, database, options, ct);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>
    /// Downloads the backup's dump files into <paramref name="staging"/> (created private to the server
    /// user): dump/ for pg_restore or dump.sql.gz; both checksums of every file verified.
    /// </summary>
    public async Task StageAsync(BackupManifest backup, string staging, CancellationToken ct)
    {
        var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
        DirectoryAccess.CreatePrivate(staging, launcher.ServerUser);
        Directory.CreateDirectory(Path.Combine(staging, "dump"));
        foreach (var file in backup.Files.Where(f => f.Name.StartsWith("dump", StringComparison.Ordinal)))
        {
            var target = Path.Combine(staging, file.Name[..^4]);
            await BackupFileStore.ReadVerifiedAsync(repository, layout.BackupFileKey(backup.Id, file.Name), file, async s =>
            {
                await using var f = File.Create(target);
                await s.CopyToAsync(f, ct);
            }, null, ct);
        }
        if (Libc.IsRoot)
        {
            foreach (var e in Directory.EnumerateFileSystemEntries(staging, "*", SearchOption.AllDirectories))
            {
                Libc.Chown(e, launcher.ServerUser.Uid, launcher.ServerUser.Gid);
            }
        }
    }

    /// <summary>The backup's database.json (null for backups taken before PgWarden recorded it).</summary>
    public async Task<DatabaseProperties?> PropertiesAsync(BackupManifest backup, CancellationToken ct)
    {
        if (backup.Files.FirstOrDefault(f => f.Name == DatabaseProperties.FileName) is not { } file)
        {
            return null;
        }
        var json = new MemoryStream();
        await BackupFileStore.ReadVerifiedAsync(repository, new RepositoryLayout(backup.Cluster, backup.SystemId).BackupFileKey(backup.Id, file.Name), file, s => s.CopyToAsync(json, ct), null, ct);
        return DatabaseProperties.Parse(System.Text.Encoding.UTF8.GetString(json.ToArray()));
    }

    /// <summary>
    /// The comment a database carries while restore-logical fills it; replaced by the source's comment (or
    /// none) only when the restore completed, so a database an interrupted restore left is recognisable.
    /// </summary>
    public const string IncompleteMarker = "pgwarden restore-logical in progress";

    /// <summary>
    /// Restores a staged backup (see <see cref="StageAsync"/>) into the new database <paramref name="database"/>.
    /// The database carries <see cref="IncompleteMarker"/> as its comment until the restore completes; an
    /// existing database is refused, except one carrying that marker with <see cref="LogicalRestoreOptions.Force"/>,
    /// which is dropped first.
    /// </summary>
    public async Task RestoreStagedAsync(BackupManifest backup, string staging, NodeConfig node, string database, LogicalRestoreOptions options, CancellationToken ct)
    {
        var conn = Connection(node);
        var properties = await PropertiesAsync(backup, ct);
        await ClearInterruptedAsync(conn, node, database, options.Force, ct);
        if (properties is not null)
        {
            await CheckRolesAsync(backup, properties, conn, node, options.CreateRoles, ct);
            if (!options.NoTablespaces && properties.Tablespaces.Count > 0)
            {
                var missing = await MissingAsync(conn, "pg_tablespace", "spcname", properties.Tablespaces, ct);
                if (missing.Count > 0)
                {
                    throw new PgWardenException(ExitCodes.UnsafeRefused,
                        $"backup {backup.Id} puts objects into tablespace(s) {string.Join(", ", missing)}, which {node.Name} does not have; create them, or restore everything into the default tablespace with --no-tablespaces");
                }
            }
        }
        var create = properties?.CreateStatement(database) ?? $"CREATE DATABASE {Sql.Ident(database)}";
        var marker = $"{IncompleteMarker} since {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z (backup {backup.Id}, PID {Environment.ProcessId} on {Environment.MachineName}): if no restore-logical runs, it was interrupted; `pgwarden restore-logical … --db … --force` drops it";
        var made = await tools.RunAsync(PsqlCommand(conn, "postgres", [create, $"COMMENT ON DATABASE {Sql.Ident(database)} IS {Sql.Literal(marker)}"]), ct);
        if (!made.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"creating database {database} failed: {made.Tail()}");
        }
        try
        {
            if (properties?.PropertyStatements(database) is { Count: > 0 } statements)
            {
                var applied = await tools.RunAsync(PsqlCommand(conn, "postgres", statements), ct);
                if (!applied.Succeeded)
                {
                    throw new PgWardenException(ExitCodes.OperationFailed, $"giving database {database} the settings and ACL of {properties.Name} failed: {applied.Tail()}");
                }
            }
            if (backup.Format == "directory")
            {
                await PgRestoreAsync(backup, conn, database, options, Path.Combine(staging, "dump"), ct);
            }
            else
            {
                await PlainAsync(backup, conn, database, Path.Combine(staging, "dump.sql.gz"), ct);
            }
            // Complete: the source's comment replaces the marker.
            var commented = await tools.RunAsync(PsqlCommand(conn, "postgres", [properties?.CommentStatement(database) ?? $"COMMENT ON DATABASE {Sql.Ident(database)} IS NULL"]), ct);
            if (!commented.Succeeded)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"giving database {database} its comment failed: {commented.Tail()}");
            }
        }
        catch
        {
            // The database is the one this run created: remove the partial restore so a retry can use the name.
            var dropped = await tools.RunAsync(PsqlCommand(conn, "postgres", [$"DROP DATABASE IF EXISTS {Sql.Ident(database)} WITH (FORCE)"]), CancellationToken.None);
            output(dropped.Succeeded ? $"removed the partly restored database {database}" : $"could not remove the partly restored database {database} (its comment marks it incomplete; --force drops it): {dropped.Tail()}");
            throw;
        }
        output($"restored logical backup {backup.Id} ({backup.Database}) into database {database} on {node.Name}"
               + (properties is null ? " (the backup predates database properties: owner, settings and ACL are the defaults)" : $", owned by {properties.Owner}"));
        if (backup.Format == "plain-gzip")
        {
            output($"  note: a plain-gzip backup is the runbook's `pg_dump --no-owner --no-acl`: its objects belong to {cluster.Database.Superuser} and carry none of the source's grants (only the database itself has its owner and ACL); use the directory format to keep them");
        }
    }

    /// <summary>
    /// Refuses an existing <paramref name="database"/>, except what an interrupted restore-logical left (its comment
    /// starts with <see cref="IncompleteMarker"/>), which <paramref name="force"/> drops.
    /// </summary>
    private async Task ClearInterruptedAsync(string[] conn, NodeConfig node, string database, bool force, CancellationToken ct)
    {
        var row = await QueryAsync(conn, $"SELECT 'exists:' || coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = {Sql.Literal(database)}", ct);
        if (!row.StartsWith("exists:", StringComparison.Ordinal))
        {
            return;
        }
        var comment = row["exists:".Length..].Trim();
        if (!comment.StartsWith(IncompleteMarker, StringComparison.Ordinal))
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"database {database} already exists on {node.Name}; restore into a new database name (--db NEW) so nothing is overwritten"
                + (force ? " (--force drops only a database an interrupted restore-logical left, which its comment marks)" : ""));
        }
        if (!force)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"database {database} on {node.Name} is what an interrupted restore-logical left (its comment: \"{comment.Split('\n')[0]}\"); run the restore again with --force to drop it and restore, or choose another --db");
        }
        var dropped = await tools.RunAsync(PsqlCommand(conn, "postgres", [$"DROP DATABASE {Sql.Ident(database)} WITH (FORCE)"]), ct);
        if (!dropped.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"dropping the incomplete database {database} failed: {dropped.Tail()}");
        }
        output($"dropped database {database}, which an interrupted restore-logical left (--force)");
    }

    private async Task CheckRolesAsync(BackupManifest backup, DatabaseProperties properties, string[] conn, NodeConfig node, bool createRoles, CancellationToken ct)
    {
        var missing = await MissingAsync(conn, "pg_roles", "rolname", properties.Roles, ct);
        if (missing.Count == 0)
        {
            return;
        }
        if (!createRoles)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused,
                $"backup {backup.Id} needs role(s) {string.Join(", ", missing)} (owners or grantees in {properties.Name}), which {node.Name} does not have; create them, or pass --create-roles to create them as NOLOGIN roles");
        }
        var made = await tools.RunAsync(PsqlCommand(conn, "postgres", [.. missing.Select(r => $"CREATE ROLE {Sql.Ident(r)} NOLOGIN")]), ct);
        if (!made.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"creating role(s) {string.Join(", ", missing)} failed: {made.Tail()}");
        }
        output($"created NOLOGIN role(s) {string.Join(", ", missing)} on {node.Name}");
    }

    /// <summary>The <paramref name="names"/> that have no row in <paramref name="catalog"/> on the node.</summary>
    private async Task<IReadOnlyList<string>> MissingAsync(string[] conn, string catalog, string column, IReadOnlyList<string> names, CancellationToken ct)
    {
        if (names.Count == 0)
        {
            return [];
        }
        var array = $"ARRAY[{string.Join(", ", names.Select(Sql.Literal))}]::text[]";
        var text = await QueryAsync(conn, $"SELECT n FROM unnest({array}) n WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.{catalog} WHERE {column} = n) ORDER BY 1", ct);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private async Task<string> QueryAsync(string[] conn, string sql, CancellationToken ct)
    {
        var result = await tools.RunAsync(new ToolCommand(Psql, [.. conn, "-d", "postgres", "-X", "-tAc", sql]), ct);
        return result.Succeeded ? result.StandardOutput
            : throw new PgWardenException(ExitCodes.OperationFailed, $"querying {conn[1]} failed: {result.Tail()}");
    }

    private ToolCommand PsqlCommand(string[] conn, string database, IEnumerable<string> statements) =>
        new(Psql, [.. conn, "-d", Sql.DbName(database), "-X", "-q", "-v", "ON_ERROR_STOP=1", .. statements.SelectMany(s => new[] { "-c", s })])
        {
            Environment = DumpSessionSettings.Environment(DumpSessionSettings.Restore, null),
        };

    private string[] Connection(NodeConfig node) =>
        ["-h", node.SocketDir(cluster), "-p", node.Port.ToString(CultureInfo.InvariantCulture), "-U", cluster.Database.Superuser];

    /// <summary>The runbook's .sql.gz into psql (ON_ERROR_STOP), decompressed here and fed on its stdin: no shell, any database name.</summary>
    private async Task PlainAsync(BackupManifest backup, string[] conn, string database, string gz, CancellationToken ct)
    {
        var command = new ToolCommand(Psql, [.. conn, "-d", Sql.DbName(database), "-X", "-v", "ON_ERROR_STOP=1", "-q"])
        {
            Environment = DumpSessionSettings.Environment(DumpSessionSettings.Restore, null),
        };
        using var process = new System.Diagnostics.Process { StartInfo = launcher.StartInfo(command, redirect: true) };
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var fed = false;
        try
        {
            await using (var file = File.OpenRead(gz))
            await using (var unzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress))
            {
                await unzip.CopyToAsync(process.StandardInput.BaseStream, 1 << 20, ct);
            }
            process.StandardInput.Close();
            fed = true;
        }
        catch (IOException) when (process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            // psql stopped reading (ON_ERROR_STOP): its own error is the one to report.
            fed = true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"restoring backup {backup.Id} into {database} failed reading {Path.GetFileName(gz)}: {e.Message}");
        }
        finally
        {
            if (!fed && !process.HasExited)
            {
                // Never let psql see end-of-input (and commit) after a half-fed script.
                process.Kill(entireProcessTree: true);
            }
        }
        await process.WaitForExitAsync(ct);
        await stdout;
        if (process.ExitCode != 0)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"restoring backup {backup.Id} into {database} failed: {string.Join(" / ", (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3))}");
        }
    }

    /// <summary>
    /// pg_restore -j of the directory dump. With sliced tables: schema and pg_dump's rows first, then
    /// the slices (N at a time), then indexes, constraints and triggers — pg_restore's own order.
    /// </summary>
    private async Task PgRestoreAsync(BackupManifest backup, string[] conn, string database, LogicalRestoreOptions options, string dumpDir, CancellationToken ct)
    {
        var indexFile = backup.Files.FirstOrDefault(f => f.Name == TableDataIndex.FileName);
        if (indexFile is null)
        {
            await RunPgRestoreAsync(backup, conn, database, options, dumpDir, [], ct);
            return;
        }
        var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
        var index = await TableDataIndex.ReadAsync(repository, layout, backup, indexFile, ct);
        await RunPgRestoreAsync(backup, conn, database, options, dumpDir, ["--section=pre-data", "--section=data"], ct);
        var stored = backup.Files.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var progress = Progress.For("  table slices", index.Chunks.Sum(c => stored.GetValueOrDefault(c.FileName)?.StoredSize ?? 0), output);
        await new SlicedTableData(repository, Psql, conn, launcher)
            .LoadAsync(database, index, stored, name => layout.BackupFileKey(backup.Id, name), options.Jobs, progress, ct);
        progress.Done();
        await RunPgRestoreAsync(backup, conn, database, options, dumpDir, ["--section=post-data"], ct);
    }

    private async Task RunPgRestoreAsync(BackupManifest backup, string[] conn, string database, LogicalRestoreOptions options, string dumpDir, string[] sections, CancellationToken ct)
    {
        var restored = await tools.RunAsync(new ToolCommand(Path.Combine(bin.BinDir, "pg_restore"),
            [.. conn, "-d", Sql.DbName(database), "-j", options.Jobs.ToString(CultureInfo.InvariantCulture), "--exit-on-error",
             .. options.NoTablespaces ? new[] { "--no-tablespaces" } : [], .. sections, dumpDir])
        {
            Timeout = TimeSpan.FromHours(24),
            ParentDeathSignal = "SIGTERM",
            // pg_restore sets its fixed state itself; the text forms it does not set come from here, not from the database.
            Environment = DumpSessionSettings.Environment(DumpSessionSettings.Restore, null),
        }, ct);
        if (!restored.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"restoring backup {backup.Id} into {database} failed: {restored.Tail()}");
        }
    }
}
