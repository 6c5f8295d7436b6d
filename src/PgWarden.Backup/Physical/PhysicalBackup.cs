using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Physical;

/// <summary>
/// A base backup by <c>pg_basebackup -Ft -X fetch</c> (self-contained: the WAL written during the copy
/// is inside) through zstd into the repository: streamed from <c>-D -</c> when the cluster has only its
/// data directory; with tablespaces (which <c>-D -</c> cannot write) staged zstd-compressed in a private
/// temporary directory, one file per tablespace, then stored. It is complete — its manifest written —
/// only once every WAL segment from its start up to and including the one holding its stop LSN is in
/// the archive (<see cref="ArchiveWait"/>), so it can always be restored. One physical backup runs at a
/// time per database system (a repository lock); a failed or interrupted one removes what it wrote.
/// </summary>
public sealed partial class PhysicalBackup(IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher, Action<string> output)
{
    public const string DataFile = "base.tar.zst";

    public const string ManifestFile = "backup_manifest.zst";

    [GeneratedRegex(@"write-ahead log start point: ([0-9A-F]+/[0-9A-F]+) on timeline (\d+)")]
    private static partial Regex StartPoint();

    [GeneratedRegex(@"write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)")]
    private static partial Regex EndPoint();

    /// <param name="archiveWait">How long to wait for the backup's WAL to be archived (positive).</param>
    public async Task<BackupManifest> RunAsync(BackupSource source, TimeSpan archiveWait, CancellationToken ct)
    {
        var cluster = source.Cluster;
        var (systemId, version, tablespaces) = await DescribeAsync(source, ct);
        var layout = new RepositoryLayout(cluster.Name, systemId);
        var started = DateTimeOffset.UtcNow;
        var id = BackupId.New(started, "physical");
        await using var guard = await RepositoryLock.AcquireAsync(repository, layout, "physical", id, output, ct);
        output($"physical backup {id} of {source.Node.Name} ({source.Node.Address}:{source.Node.Port}) into {repository.Description}"
               + (tablespaces.Count > 0 ? $" with {tablespaces.Count} tablespace(s): {string.Join(", ", tablespaces.Select(t => $"{t.Name} ({t.Location})"))}" : ""));
        try
        {
            var (files, log) = tablespaces.Count == 0
                ? await StreamAsync(source, layout, id, ct)
                : await StagedAsync(source, layout, id, ct);
            var start = StartPoint().Match(log);
            var end = EndPoint().Match(log);
            if (!start.Success || !end.Success)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"pg_basebackup did not report its start and end WAL positions: {Tail(log)}");
            }
            var timeline = uint.Parse(start.Groups[2].Value, CultureInfo.InvariantCulture);
            var startLsn = (ulong)Lsn.Parse(start.Groups[1].Value);
            var stopLsn = (ulong)Lsn.Parse(end.Groups[1].Value);
            var segments = ArchiveWait.Segments(timeline, startLsn, stopLsn);
            var size = files.Sum(f => f.Size);
            var stored = files.Sum(f => f.StoredSize);
            output($"  base copied: {Progress.Mb(size)} → {Progress.Mb(stored)} stored; WAL {start.Groups[1].Value} … {end.Groups[1].Value} (timeline {timeline}), waiting for {segments[0]} … {segments[^1]} to be archived");
            await new ArchiveWait(repository, layout, source.PrimarySql).RunAsync(segments, archiveWait, ct);
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
                StartWal = segments[0],
                StopWal = segments[^1],
                BackupLabel = $"START WAL LOCATION: {start.Groups[1].Value} (file {segments[0]})\nSTOP WAL LOCATION: {end.Groups[1].Value} (file {segments[^1]})\nBACKUP METHOD: streamed\nBACKUP FROM: {source.Node.Name}\nSTART TIMELINE: {timeline}\n",
                Files = files,
                Tablespaces = tablespaces,
            };
            // Written last and at once: a backup is visible only complete.
            await BackupCatalog.PutTextAsync(repository, layout.ManifestKey(id), manifest.ToJson(), ct);
            output($"physical backup {id} complete in {manifest.DurationSeconds:0.0} s ({Progress.Mb(size)}, {Progress.Mb(stored)} stored, ratio {size / (double)Math.Max(1, stored):0.0}:1)");
            return manifest;
        }
        catch
        {
            await FailedBackup.RemoveAsync(repository, layout, id, output);
            throw;
        }
    }

    private static async Task<(string SystemId, int Version, IReadOnlyList<BackupTablespace> Tablespaces)> DescribeAsync(BackupSource source, CancellationToken ct)
    {
        await using var conn = await source.NodeSql.OpenConnectionAsync(ct);
        string systemId;
        int version;
        await using (var cmd = new NpgsqlCommand("SELECT system_identifier::text, current_setting('server_version_num')::int FROM pg_control_system()", conn))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            await r.ReadAsync(ct);
            systemId = r.GetString(0);
            version = r.GetInt32(1) / 10000;
        }
        var tablespaces = new List<BackupTablespace>();
        await using (var cmd = new NpgsqlCommand("SELECT oid::bigint, spcname, pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid", conn))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                tablespaces.Add(new BackupTablespace((uint)r.GetInt64(0), r.GetString(1), r.GetString(2)));
            }
        }
        return (systemId, version, tablespaces);
    }

    private ToolCommand BaseBackup(BackupSource source, params string[] target) => new(bin.PgBaseBackup,
    [
        "-h", source.Node.Address, "-p", source.Node.Port.ToString(CultureInfo.InvariantCulture), "-U", source.Cluster.Database.ReplicationUser,
        .. target, "-Ft", "-X", "fetch", "--checkpoint=fast", "--no-password", "--verbose",
    ])
    {
        Environment = new Dictionary<string, string>(PgWarden.Postgres.Tls.ClientTls.LibpqEnvironment(source.Cluster))
        {
            ["PGPASSFILE"] = source.PassFile, ["PGAPPNAME"] = "pgwarden-backup", ["PGCONNECT_TIMEOUT"] = "10",
        },
        Timeout = TimeSpan.FromHours(24),
        // A backup killed meanwhile must not leave pg_basebackup writing into staging nobody reads.
        ParentDeathSignal = "SIGTERM",
    };

    /// <summary>The data directory only: pg_basebackup's tar on stdout, compressed into the repository as it comes.</summary>
    private async Task<(List<BackupFile> Files, string Log)> StreamAsync(BackupSource source, RepositoryLayout layout, string id, CancellationToken ct)
    {
        using var process = new Process { StartInfo = launcher.StartInfo(BaseBackup(source, "-D", "-"), redirect: true) };
        // The parent-death signal follows the forking thread: fork from the one that lives as long as this process.
        PgWarden.Core.Processes.DedicatedLauncherThread.Run(process.Start);
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
        finally
        {
            progress.Done();
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        var log = await stderr;
        return process.ExitCode == 0 ? ([file], log)
            : throw new PgWardenException(ExitCodes.OperationFailed, $"pg_basebackup from {source.Node.Name} failed (exit {process.ExitCode}): {Tail(log)}");
    }

    /// <summary>
    /// With tablespaces: pg_basebackup writes base.tar, one &lt;oid&gt;.tar per tablespace and backup_manifest,
    /// zstd-compressed, into a private staging directory; each is then stored (checksummed) and the staging removed.
    /// </summary>
    private async Task<(List<BackupFile> Files, string Log)> StagedAsync(BackupSource source, RepositoryLayout layout, string id, CancellationToken ct)
    {
        var staging = LocalStaging.NewPath(Path.GetTempPath(), LocalStaging.BaseBackup);
        DirectoryAccess.CreatePrivate(staging, launcher.ServerUser);
        var target = Path.Combine(staging, "backup");
        try
        {
            var result = await new ToolRunner(launcher).RunAsync(BaseBackup(source, "-D", target, "--compress=client-zstd:1"), ct);
            if (!result.Succeeded)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"pg_basebackup from {source.Node.Name} failed (exit {result.ExitCode}): {Tail(result.StandardError)}");
            }
            var files = new List<BackupFile>();
            foreach (var path in Directory.GetFiles(target).Order(StringComparer.Ordinal))
            {
                var staged = Path.GetFileName(path);
                var name = staged switch
                {
                    "base.tar.zst" => DataFile,
                    "backup_manifest" => ManifestFile,
                    _ when staged.EndsWith(".tar.zst", StringComparison.Ordinal) => "pg_tblspc/" + staged,
                    _ => staged + ".zst",
                };
                await using var raw = File.OpenRead(path);
                await using var content = staged.EndsWith(".zst", StringComparison.Ordinal) ? Compression.Zstd.DecompressionStream(raw, leaveOpen: false) : raw;
                files.Add(await BackupFileStore.StoreAsync(repository, layout.BackupFileKey(id, name), name, content, 1, Environment.ProcessorCount, ct));
                File.Delete(path);
            }
            return (files, result.StandardError);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private static string Tail(string log) =>
        string.Join(" / ", log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));
}
