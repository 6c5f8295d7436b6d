using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Physical;

/// <summary>
/// A base backup streamed from <c>pg_basebackup -D - -Ft -X fetch</c> (self-contained: the WAL
/// written during the copy is inside) through zstd into the
/// repository. It is complete — its manifest written — only once every WAL segment from its start
/// to its stop LSN is in the archive, so it can always be restored.
/// </summary>
public sealed partial class PhysicalBackup(IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher, Action<string> output)
{
    public const string DataFile = "base.tar.zst";

    [GeneratedRegex(@"write-ahead log start point: ([0-9A-F]+/[0-9A-F]+) on timeline (\d+)")]
    private static partial Regex StartPoint();

    [GeneratedRegex(@"write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)")]
    private static partial Regex EndPoint();

    public async Task<BackupManifest> RunAsync(BackupSource source, TimeSpan archiveWait, CancellationToken ct)
    {
        var cluster = source.Cluster;
        string systemId;
        int version;
        await using (var conn = await source.NodeSql.OpenConnectionAsync(ct))
        await using (var cmd = new NpgsqlCommand("SELECT system_identifier::text, current_setting('server_version_num')::int FROM pg_control_system()", conn))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            await r.ReadAsync(ct);
            systemId = r.GetString(0);
            version = r.GetInt32(1) / 10000;
        }
        var layout = new RepositoryLayout(cluster.Name, systemId);
        var started = DateTimeOffset.UtcNow;
        var id = started.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-physical";
        output($"physical backup {id} of {source.Node.Name} ({source.Node.Address}:{source.Node.Port}) into {repository.Description}");

        var command = new ToolCommand(bin.PgBaseBackup,
        [
            "-h", source.Node.Address, "-p", source.Node.Port.ToString(CultureInfo.InvariantCulture), "-U", cluster.Database.ReplicationUser,
            "-D", "-", "-Ft", "-X", "fetch", "--checkpoint=fast", "--no-password", "--verbose",
        ])
        {
            Environment = new Dictionary<string, string> { ["PGPASSFILE"] = source.PassFile, ["PGAPPNAME"] = "pgwarden-backup", ["PGCONNECT_TIMEOUT"] = "10" },
        };
        using var process = new Process { StartInfo = launcher.StartInfo(command, redirect: true) };
        process.Start();
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        BackupFile file;
        var progress = Progress.For("  base backup", null, output);
        try
        {
            await using var stdout = new ProgressStream(process.StandardOutput.BaseStream, progress);
            file = await BackupFileStore.StoreAsync(repository, layout.BackupFileKey(id, DataFile), DataFile, stdout, 1, Environment.ProcessorCount, ct);
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        finally
        {
            progress.Done();
        }
        var log = await stderr;
        if (process.ExitCode != 0)
        {
            throw new PgWardenException(ExitCodes.OperationFailed,
                $"pg_basebackup from {source.Node.Name} failed (exit {process.ExitCode}): {Tail(log)}; the incomplete backup {id} has no manifest and is ignored (prune removes it)");
        }
        var start = StartPoint().Match(log);
        var end = EndPoint().Match(log);
        if (!start.Success || !end.Success)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"pg_basebackup did not report its start and end WAL positions: {Tail(log)}");
        }
        var timeline = uint.Parse(start.Groups[2].Value, CultureInfo.InvariantCulture);
        var startLsn = (ulong)Lsn.Parse(start.Groups[1].Value);
        var stopLsn = (ulong)Lsn.Parse(end.Groups[1].Value);
        var startWal = WalFileName.SegmentName(timeline, startLsn);
        var stopWal = WalFileName.SegmentName(timeline, Math.Max(stopLsn, 1) - 1);
        output($"  base copied: {Progress.Mb(file.Size)} → {Progress.Mb(file.StoredSize)} stored; WAL {start.Groups[1].Value} … {end.Groups[1].Value} (timeline {timeline}), waiting for {startWal} … {stopWal} to be archived");

        await WaitForArchiveAsync(source, layout, timeline, startLsn, stopLsn, archiveWait, ct);
        var manifest = new BackupManifest
        {
            Id = id,
            Type = "physical",
            Cluster = cluster.Name,
            SystemId = systemId,
            SourceNode = source.Node.Name,
            StartTime = started,
            StopTime = DateTimeOffset.UtcNow,
            PgVersion = version,
            Timeline = timeline,
            StartLsn = start.Groups[1].Value,
            StopLsn = end.Groups[1].Value,
            StartWal = startWal,
            StopWal = stopWal,
            BackupLabel = $"START WAL LOCATION: {start.Groups[1].Value} (file {startWal})\nSTOP WAL LOCATION: {end.Groups[1].Value} (file {stopWal})\nBACKUP METHOD: streamed\nBACKUP FROM: {source.Node.Name}\nSTART TIMELINE: {timeline}\n",
            Files = [file],
        };
        await BackupCatalog.PutTextAsync(repository, layout.ManifestKey(id), manifest.ToJson(), ct);
        output($"physical backup {id} complete in {manifest.DurationSeconds:0.0} s ({Progress.Mb(file.Size)}, {Progress.Mb(file.StoredSize)} stored, ratio {file.Size / (double)Math.Max(1, file.StoredSize):0.0}:1)");
        return manifest;
    }

    /// <summary>Switches the primary to a new segment and waits until every segment the backup needs is archived.</summary>
    private async Task WaitForArchiveAsync(BackupSource source, RepositoryLayout layout, uint timeline, ulong startLsn, ulong stopLsn, TimeSpan wait, CancellationToken ct)
    {
        var first = startLsn / WalFileName.DefaultSegmentSize;
        var last = (Math.Max(stopLsn, 1) - 1) / WalFileName.DefaultSegmentSize;
        var deadline = DateTime.UtcNow + wait;
        var switched = false;
        for (var seg = first; seg <= last; seg++)
        {
            var name = WalFileName.SegmentNameOf(timeline, seg);
            while (!await repository.ExistsAsync(layout.WalKey(name), ct))
            {
                if (!switched)
                {
                    // The backup's last segment is archived only once it is complete; finish it now.
                    await using var conn = await source.PrimarySql.OpenConnectionAsync(ct);
                    await using var cmd = new NpgsqlCommand("SELECT pg_switch_wal()", conn);
                    await cmd.ExecuteScalarAsync(ct);
                    switched = true;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new PgWardenException(ExitCodes.Timeout,
                        $"WAL segment {name} needed by the backup was not archived within {wait.TotalSeconds:0} s (is archive_command failing? see pg_stat_archiver); the backup is not usable without it and has no manifest");
                }
                await Task.Delay(200, ct);
            }
        }
    }

    private static string Tail(string log) =>
        string.Join(" / ", log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));
}
