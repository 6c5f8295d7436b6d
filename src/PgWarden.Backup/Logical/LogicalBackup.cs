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
        var id = BackupId.New(started, "logical");
        var layout = new RepositoryLayout(cluster.Name, systemId);
        var socket = node.SocketDir(cluster);
        var conn = new[] { "-h", socket, "-p", node.Port.ToString(CultureInfo.InvariantCulture), "-U", cluster.Database.Superuser };
        output($"logical backup {id} of database {database} on {node.Name} ({format}{(format == "directory" ? $", {jobs} jobs" : "")}) into {repository.Description}");
        var files = new List<BackupFile>();
        var staging = LocalStaging.NewPath(Path.GetTempPath(), LocalStaging.Dump);
        await using var guard = await RepositoryLock.AcquireAsync(repository, layout, $"logical-{database}", id, output, ct);
        try
        {
            if (format == "directory")
            {
                files.AddRange(await DirectoryDumpAsync(layout, id, conn, database, jobs, sql, sliceBytes, staging, ct));
            }
            else
            {
                files.Add(await PlainGzipAsync(layout, id, conn, database, staging, ct));
                await using var props = await sql.OpenConnectionAsync(ct);
                files.Add(await StorePropertiesAsync(layout, id, await DatabaseProperties.ReadAsync(props, null, ct), ct));
            }
            foreach (var (name, meta) in new[] { ("db_info.txt.zst", "\\l+"), ("table_info.txt.zst", "\\dt+") })
            {
                var listing = await tools.RunAsync(new ToolCommand(Path.Combine(bin.BinDir, "psql"), [.. conn, "-d", Sql.DbName(database), "-X", "-c", meta]), ct);
                if (!listing.Succeeded)
                {
                    throw new PgWardenException(ExitCodes.OperationFailed, $"psql {meta} on {database} failed: {listing.Tail()}");
                }
                using var text = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(listing.StandardOutput));
                files.Add(await BackupFileStore.StoreAsync(repository, layout.BackupFileKey(id, name), name, text, 3, ct));
            }
            var manifest = new BackupManifest
            {
                Id = id, Type = "logical", Cluster = cluster.Name, SystemId = systemId, SourceNode = node.Name,
                StartTime = started, StopTime = DateTimeOffset.UtcNow, PgVersion = cluster.Postgres.Version,
                Database = database, Format = format, Files = files,
            };
            // Written last and at once: a backup is visible only complete.
            await BackupCatalog.PutTextAsync(repository, layout.ManifestKey(id), manifest.ToJson(), ct);
            output($"logical backup {id} complete in {manifest.DurationSeconds:0.0} s ({Progress.Mb(manifest.Size)}, {Progress.Mb(manifest.StoredSize)} stored)");
            return manifest;
        }
        catch
        {
            await FailedBackup.RemoveAsync(repository, layout, id, output);
            throw;
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
        files.Add(await StorePropertiesAsync(layout, id, await snapshot.PropertiesAsync(ct), ct));
        // The snapshot's transaction holds ACCESS SHARE on the sliced tables until everything is read:
        // a DDL queued behind it would queue pg_dump's and the slices' own locks forever, hence their
        // lock timeouts. Whichever side fails first stops the other.
        using var stopDump = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var stopSlices = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pgDump = tools.RunAsync(new ToolCommand(Path.Combine(bin.BinDir, "pg_dump"),
            [.. conn, "-d", Sql.DbName(database), "-Fd", "-j", jobs.ToString(CultureInfo.InvariantCulture), "-Z", "0", "--snapshot", snapshot.Id, "--lock-wait-timeout", "60000",
             .. excluded.SelectMany(t => new[] { "--exclude-table-data", $"\"{t.Schema}\".\"{t.Table}\"" }), "-f", dumpDir])
        {
            Timeout = TimeSpan.FromHours(24),
            // Killed with this process: no pg_dump goes on holding its locks and writing into staging nobody reads.
            ParentDeathSignal = "SIGTERM",
        }, stopDump.Token);
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

    /// <summary>database.json: what restore-logical needs to recreate the database itself (see <see cref="DatabaseProperties"/>).</summary>
    private async Task<BackupFile> StorePropertiesAsync(RepositoryLayout layout, string id, DatabaseProperties properties, CancellationToken ct)
    {
        using var json = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(properties.ToJson()));
        return await BackupFileStore.StoreAsync(repository, layout.BackupFileKey(id, DatabaseProperties.FileName), DatabaseProperties.FileName, json, 3, ct);
    }

    /// <summary>
    /// The runbook's `pg_dump --format=plain --no-owner --no-acl | gzip`, with both exit statuses checked;
    /// also --no-tablespaces, so the file loads into any server.
    /// </summary>
    private async Task<BackupFile> PlainGzipAsync(RepositoryLayout layout, string id, string[] conn, string database, string staging, CancellationToken ct)
    {
        const string name = "dump.sql.gz";
        using var process = new Process { StartInfo = launcher.StartInfo(new ToolCommand(Path.Combine(bin.BinDir, "pg_dump"), [.. conn, "-d", Sql.DbName(database), "--format=plain", "--no-owner", "--no-acl", "--no-tablespaces"]), redirect: true) };
        process.Start();
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        DirectoryAccess.CreatePrivate(staging, launcher.ServerUser);
        var gz = Path.Combine(staging, name);
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
}
