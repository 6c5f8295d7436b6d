using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Npgsql;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;
using PgWarden.Core.Processes;

namespace PgWarden.Backup.Logical;

/// <summary>
/// The runbook's daily dump, done safely: pg_dump (directory format with -j N, large tables read
/// beside it in slices by <see cref="SlicedTableData"/> in the same snapshot — or the runbook's
/// plain SQL gzipped) as the server OS user through the node's socket, every file zstd-compressed
/// and checksummed into the repository, plus the runbook's listings (\l+ and \dt+). Every stage's
/// exit status is checked; the manifest is written last.
/// </summary>
public sealed class LogicalBackup(ClusterConfig cluster, IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher, IToolRunner tools, Action<string> output)
{
    public static readonly string[] Formats = ["directory", "plain-gzip"];

    /// <summary>
    /// zstd level 1 on libzstd's worker threads: on pgbench's COPY text (md5 filler, scale 100) it is
    /// 3.4× faster than level 3 and 16% smaller (190 vs 226 MB; gzip -6: 240 MB).
    /// </summary>
    private const int DumpCompressionLevel = 1;

    /// <param name="sql">A superuser connection to <paramref name="database"/> on the node: holds the dump's snapshot.</param>
    /// <param name="sliceBytes">Tables at least this large are read in slices of this size by <paramref name="jobs"/> connections (0: pg_dump reads every table).</param>
    public async Task<BackupManifest> RunAsync(NodeConfig node, string systemId, string database, string format, int jobs, NpgsqlDataSource sql, long sliceBytes, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        var id = started.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-logical";
        var layout = new RepositoryLayout(cluster.Name, systemId);
        var socket = node.SocketDir(cluster);
        var conn = new[] { "-h", socket, "-p", node.Port.ToString(CultureInfo.InvariantCulture), "-U", cluster.Database.Superuser };
        output($"logical backup {id} of database {database} on {node.Name} ({format}{(format == "directory" ? $", {jobs} jobs" : "")}) into {repository.Description}");
        var files = new List<BackupFile>();
        var staging = Path.Combine(Path.GetTempPath(), $"pgwarden-dump-{Guid.NewGuid():N}");
        try
        {
            if (format == "directory")
            {
                files.AddRange(await DirectoryDumpAsync(layout, id, conn, database, jobs, sql, sliceBytes, staging, ct));
            }
            else
            {
                files.Add(await PlainGzipAsync(layout, id, conn, database, ct));
            }
            foreach (var (name, meta) in new[] { ("db_info.txt.zst", "\\l+"), ("table_info.txt.zst", "\\dt+") })
            {
                var listing = await tools.RunAsync(new ToolCommand(Path.Combine(bin.BinDir, "psql"), [.. conn, "-d", database, "-X", "-c", meta]), ct);
                if (!listing.Succeeded)
                {
                    throw new PgWardenException(ExitCodes.OperationFailed, $"psql {meta} on {database} failed: {listing.Tail()}");
                }
                using var text = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(listing.StandardOutput));
                files.Add(await BackupFileStore.StoreAsync(repository, layout.BackupFileKey(id, name), name, text, 3, ct));
            }
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
        var manifest = new BackupManifest
        {
            Id = id, Type = "logical", Cluster = cluster.Name, SystemId = systemId, SourceNode = node.Name,
            StartTime = started, StopTime = DateTimeOffset.UtcNow, PgVersion = cluster.Postgres.Version,
            Database = database, Format = format, Files = files,
        };
        await BackupCatalog.PutTextAsync(repository, layout.ManifestKey(id), manifest.ToJson(), ct);
        output($"logical backup {id} complete in {manifest.DurationSeconds:0.0} s ({Progress.Mb(manifest.Size)}, {Progress.Mb(manifest.StoredSize)} stored)");
        return manifest;
    }

    /// <summary>
    /// pg_dump -Fd -j N in the snapshot of <see cref="DumpSnapshot"/>, without the rows of the large
    /// tables, which <see cref="SlicedTableData"/> reads meanwhile in slices over N connections,
    /// streamed into zstd; then pg_dump's files are compressed into the repository.
    /// </summary>
    private async Task<List<BackupFile>> DirectoryDumpAsync(RepositoryLayout layout, string id, string[] conn, string database, int jobs, NpgsqlDataSource sql, long sliceBytes, string staging, CancellationToken ct)
    {
        var files = new List<BackupFile>();
        DirectoryAccess.CreatePrivate(staging, launcher.ServerUser);
        var dumpDir = Path.Combine(staging, "dump");
        var clock = Stopwatch.StartNew();
        await using var snapshot = await DumpSnapshot.BeginAsync(sql, ct);
        var chunks = sliceBytes > 0
            ? TableChunkPlanner.Plan(await snapshot.LargeTablesAsync(sliceBytes, ct), Math.Max(1, sliceBytes / snapshot.BlockSize))
            : [];
        var excluded = chunks.Select(c => (c.Schema, c.Table)).Distinct().ToList();
        // The snapshot's transaction holds ACCESS SHARE on the sliced tables until everything is read:
        // a DDL queued behind it would queue pg_dump's and the slices' own locks forever, hence their
        // lock timeouts. Whichever side fails first stops the other.
        using var stopDump = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var stopSlices = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pgDump = tools.RunAsync(new ToolCommand(Path.Combine(bin.BinDir, "pg_dump"),
            [.. conn, "-d", database, "-Fd", "-j", jobs.ToString(CultureInfo.InvariantCulture), "-Z", "0", "--snapshot", snapshot.Id, "--lock-wait-timeout", "60000",
             .. excluded.SelectMany(t => new[] { "--exclude-table-data", $"\"{t.Schema}\".\"{t.Table}\"" }), "-f", dumpDir]) { Timeout = TimeSpan.FromHours(24) }, stopDump.Token);
        var slices = chunks.Count > 0 ? DumpSlicesAsync(layout, id, conn, database, jobs, snapshot, chunks, files, stopSlices.Token) : Task.CompletedTask;
        if (await Task.WhenAny(pgDump, slices) == pgDump && !(pgDump.IsCompletedSuccessfully && pgDump.Result.Succeeded))
        {
            await stopSlices.CancelAsync();
            await Task.WhenAny(slices);
            throw new PgWardenException(ExitCodes.OperationFailed, $"pg_dump of {database} failed: {(await pgDump).Tail()}");
        }
        try
        {
            await slices;
        }
        catch
        {
            await stopDump.CancelAsync();
            await Task.WhenAny(pgDump);
            throw;
        }
        if (chunks.Count > 0)
        {
            output($"  {excluded.Count} large table(s) in {chunks.Count} slices: {Progress.Mb(files.Sum(f => f.Size))} of COPY text, {Progress.Mb(files.Sum(f => f.StoredSize))} stored, in {clock.Elapsed.TotalSeconds:0.0} s");
        }
        var dump = await pgDump;
        if (!dump.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"pg_dump of {database} failed: {dump.Tail()}");
        }
        var dumped = Directory.GetFiles(dumpDir).Order(StringComparer.Ordinal).ToList();
        output($"  pg_dump: {dumped.Count} files, {Progress.Mb(dumped.Sum(f => new FileInfo(f).Length))} in {clock.Elapsed.TotalSeconds:0.0} s");
        clock.Restart();
        foreach (var file in dumped)
        {
            var name = "dump/" + Path.GetFileName(file) + ".zst";
            await using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            files.Add(await BackupFileStore.StoreAsync(repository, layout.BackupFileKey(id, name), name, source, DumpCompressionLevel, Environment.ProcessorCount, ct));
        }
        output($"  pg_dump's files compressed into the repository in {clock.Elapsed.TotalSeconds:0.0} s");
        return files;
    }

    private async Task DumpSlicesAsync(RepositoryLayout layout, string id, string[] conn, string database, int jobs, DumpSnapshot snapshot, IReadOnlyList<TableChunk> chunks, List<BackupFile> files, CancellationToken ct)
    {
        var progress = Progress.For("  table slices (COPY text)", null, output);
        var sliced = new SlicedTableData(repository, Path.Combine(bin.BinDir, "psql"), conn, launcher);
        files.AddRange(await sliced.DumpAsync(database, snapshot, chunks, name => layout.BackupFileKey(id, name), jobs, progress, ct));
        progress.Done();
        var index = new TableDataIndex(snapshot.Encoding, chunks);
        using var json = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(index.ToJson()));
        files.Add(await BackupFileStore.StoreAsync(repository, layout.BackupFileKey(id, TableDataIndex.FileName), TableDataIndex.FileName, json, 3, ct));
    }

    /// <summary>The runbook's `pg_dump --format=plain --no-owner --no-acl | gzip`, with both exit statuses checked.</summary>
    private async Task<BackupFile> PlainGzipAsync(RepositoryLayout layout, string id, string[] conn, string database, CancellationToken ct)
    {
        const string name = "dump.sql.gz";
        using var process = new Process { StartInfo = launcher.StartInfo(new ToolCommand(Path.Combine(bin.BinDir, "pg_dump"), [.. conn, "-d", database, "--format=plain", "--no-owner", "--no-acl"]), redirect: true) };
        process.Start();
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var gz = Path.Combine(Path.GetTempPath(), $"pgwarden-dump-{Guid.NewGuid():N}.sql.gz");
        try
        {
            await using (var file = File.Create(gz))
            await using (var zip = new GZipStream(file, CompressionLevel.Fastest))
            {
                await process.StandardOutput.BaseStream.CopyToAsync(zip, ct);
            }
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"pg_dump of {database} failed (exit {process.ExitCode}): {(await stderr).Trim()}");
            }
            await using var source = File.OpenRead(gz);
            // Stored zstd-wrapped like every file (level 1: gzip output does not compress further).
            return await BackupFileStore.StoreAsync(repository, layout.BackupFileKey(id, name + ".zst"), name + ".zst", source, 1, ct);
        }
        finally
        {
            File.Delete(gz);
        }
    }

    /// <summary>
    /// pg_restore -j of the directory dump. With sliced tables: schema and pg_dump's rows first, then
    /// the slices (N at a time), then indexes, constraints and triggers — pg_restore's own order.
    /// </summary>
    private async Task PgRestoreAsync(BackupManifest backup, RepositoryLayout layout, string[] conn, string database, int jobs, string dumpDir, CancellationToken ct)
    {
        var indexFile = backup.Files.FirstOrDefault(f => f.Name == TableDataIndex.FileName);
        if (indexFile is null)
        {
            await RunPgRestoreAsync(backup, conn, database, jobs, dumpDir, [], ct);
            return;
        }
        var json = new MemoryStream();
        await BackupFileStore.ReadVerifiedAsync(repository, layout.BackupFileKey(backup.Id, indexFile.Name), indexFile, s => s.CopyToAsync(json, ct), null, ct);
        var index = TableDataIndex.Parse(System.Text.Encoding.UTF8.GetString(json.ToArray()));
        await RunPgRestoreAsync(backup, conn, database, jobs, dumpDir, ["--section=pre-data", "--section=data"], ct);
        var stored = backup.Files.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var progress = Progress.For("  table slices", index.Chunks.Sum(c => stored.GetValueOrDefault(c.FileName)?.StoredSize ?? 0), output);
        await new SlicedTableData(repository, Path.Combine(bin.BinDir, "psql"), conn, launcher)
            .LoadAsync(database, index, stored, name => layout.BackupFileKey(backup.Id, name), jobs, progress, ct);
        progress.Done();
        await RunPgRestoreAsync(backup, conn, database, jobs, dumpDir, ["--section=post-data"], ct);
    }

    private async Task RunPgRestoreAsync(BackupManifest backup, string[] conn, string database, int jobs, string dumpDir, string[] sections, CancellationToken ct)
    {
        var restored = await tools.RunAsync(new ToolCommand(Path.Combine(bin.BinDir, "pg_restore"),
            [.. conn, "-d", database, "-j", jobs.ToString(CultureInfo.InvariantCulture), "--exit-on-error", .. sections, dumpDir]) { Timeout = TimeSpan.FromHours(24) }, ct);
        if (!restored.Succeeded)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"restoring backup {backup.Id} into {database} failed: {restored.Tail()}");
        }
    }

    /// <summary>Downloads (verifying checksums) and restores a logical backup into <paramref name="database"/> with pg_restore -j.</summary>
    public async Task RestoreAsync(BackupManifest backup, NodeConfig node, string database, int jobs, CancellationToken ct)
    {
        var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
        var conn = new[] { "-h", node.SocketDir(cluster), "-p", node.Port.ToString(CultureInfo.InvariantCulture), "-U", cluster.Database.Superuser };
        var staging = Path.Combine(Path.GetTempPath(), $"pgwarden-restore-dump-{Guid.NewGuid():N}");
        DirectoryAccess.CreatePrivate(staging, launcher.ServerUser);
        try
        {
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
            var psql = Path.Combine(bin.BinDir, "psql");
            var create = await tools.RunAsync(new ToolCommand(psql, [.. conn, "-d", "postgres", "-X", "-tAc", $"SELECT 1 FROM pg_database WHERE datname = '{database}'"]), ct);
            if (create.StandardOutput.Trim() == "1")
            {
                throw new PgWardenException(ExitCodes.UnsafeRefused, $"database {database} already exists on {node.Name}; restore into a new database name (--db NEW) so nothing is overwritten");
            }
            var made = await tools.RunAsync(new ToolCommand(psql, [.. conn, "-d", "postgres", "-X", "-v", "ON_ERROR_STOP=1", "-c", $"CREATE DATABASE \"{database}\""]), ct);
            if (!made.Succeeded)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"creating database {database} failed: {made.Tail()}");
            }
            try
            {
                if (backup.Format == "directory")
                {
                    await PgRestoreAsync(backup, layout, conn, database, jobs, Path.Combine(staging, "dump"), ct);
                }
                else
                {
                    var restored = await tools.RunAsync(new ToolCommand("/bin/bash", ["-c", $"set -o pipefail; gzip -dc '{Path.Combine(staging, "dump.sql.gz")}' | '{psql}' -X -v ON_ERROR_STOP=1 -q -h '{conn[1]}' -p {conn[3]} -U {conn[5]} -d '{database}'"]) { Timeout = TimeSpan.FromHours(24) }, ct);
                    if (!restored.Succeeded)
                    {
                        throw new PgWardenException(ExitCodes.OperationFailed, $"restoring backup {backup.Id} into {database} failed: {restored.Tail()}");
                    }
                }
            }
            catch
            {
                // The database is the one this run created: remove the partial restore so a retry can use the name.
                var dropped = await tools.RunAsync(new ToolCommand(psql, [.. conn, "-d", "postgres", "-X", "-c", $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"]), CancellationToken.None);
                output(dropped.Succeeded ? $"removed the partly restored database {database}" : $"could not remove the partly restored database {database}: {dropped.Tail()}");
                throw;
            }
            output($"restored logical backup {backup.Id} ({backup.Database}) into database {database} on {node.Name}");
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }
}
