using System.Formats.Tar;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Rendering;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;
using PgWarden.Core.Processes;

namespace PgWarden.Backup.Physical;

/// <summary>
/// Point-in-time recovery: a physical base backup unpacked (checksums verified) into an empty
/// directory, recovery settings written, PostgreSQL started as the server OS user on a free
/// loopback port with restore_command = pgwarden wal-fetch, and watched until the target is reached.
/// Archiving is off in the restored instance, so it never writes into the cluster's archive.
/// </summary>
public sealed class Restorer(ClusterConfig cluster, IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher, IToolRunner tools, string pgwardenBinary, Action<string> output)
{
    public sealed record Result(int Port, string SocketDir, string Summary, bool Running);

    /// <summary>
    /// Restores <paramref name="backup"/> into <paramref name="dir"/> (empty or new) and recovers it to
    /// <paramref name="target"/>. A failure or an interrupt removes what it wrote and stops the server
    /// it started; see <see cref="RestoreTargetDirectory"/> for a restore that was killed.
    /// </summary>
    /// <param name="timeout">How long recovery may take.</param>
    public async Task<Result> RestoreAsync(BackupManifest backup, RecoveryTarget target, string dir, int? port, bool keepRunning, TimeSpan timeout, RestoreOptions options, CancellationToken ct)
    {
        var full = Path.GetFullPath(dir);
        CheckTarget(backup, target);
        var placement = TablespacePlacement.Plan(backup, options);
        var directories = new RestoreTargetDirectory([full, .. placement.Values.OfType<string>()]);
        await directories.PrepareAsync(options.Force, d => ScratchStopAsync(d), output);
        output($"restoring backup {backup.Id} ({backup.StartTime:yyyy-MM-dd HH:mm:ss}Z, {Progress.Mb(backup.Size)}) into {full}, recovering to {target.Describe()}");
        Result result;
        try
        {
            DirectoryAccess.EnsureTraversable(full, launcher.ServerUser);
            DirectoryAccess.CreatePrivate(full, launcher.ServerUser);
            directories.Mark();
            await UnpackAsync(backup, full, placement, ct);
            var placeholders = options.ReservedTimelines.Select(t => Path.Combine(full, "pg_wal", $"{t:X8}.history")).ToList();
            foreach (var file in placeholders)
            {
                File.WriteAllText(file, "# placeholder written by pgwarden restore: this timeline has archived WAL but no history file, so a promotion must not reuse its number\n");
            }
            ChownTree(Path.Combine(full, "pg_wal"), launcher.ServerUser);
            result = await RecoverAsync(target, full, port, timeout, ct);
            if (!keepRunning)
            {
                await StopAsync(full, CancellationToken.None);
                RemoveIfEmpty(result.SocketDir);
                placeholders.ForEach(File.Delete);
            }
        }
        catch (Exception)
        {
            await ScratchStopAsync(full);
            directories.Discard(output);
            output($"  removed the incomplete restore from {full}" + (File.Exists(full + ".log") ? $" (server log: {full}.log)" : ""));
            throw;
        }
        directories.Complete();
        output(keepRunning
            ? $"  left running on 127.0.0.1:{result.Port}; stop it with: pg_ctl -D {full} stop (as {launcher.ServerUser.Name})"
            : $"  stopped; start it with: pg_ctl -D {full} start (as {launcher.ServerUser.Name})");
        return result with { Running = keepRunning };
    }

    /// <summary>Stops a PostgreSQL running in <paramref name="dir"/> (a failed or interrupted restore's), never throwing.</summary>
    private Task ScratchStopAsync(string dir) => Verify.ScratchServer.StopAsync(tools, bin, dir, output);

    /// <summary>
    /// Unpacks every file of a physical backup into <paramref name="full"/> (an empty or new directory,
    /// made private to the server user), verifying both checksums: base.tar, each tablespace's tar into
    /// its place (<paramref name="placement"/>: a directory, or null for pg_tblspc/&lt;oid&gt; inside
    /// <paramref name="full"/>), backup_manifest. On failure the caller empties the directories.
    /// </summary>
    public async Task UnpackAsync(BackupManifest backup, string full, IReadOnlyDictionary<uint, string?> placement, CancellationToken ct)
    {
        var user = launcher.ServerUser;
        DirectoryAccess.EnsureTraversable(full, user);
        DirectoryAccess.CreatePrivate(full, user);
        var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
        foreach (var file in backup.Files)
        {
            var progress = Progress.For($"  unpacking {file.Name}", file.StoredSize, output);
            var tablespace = backup.Tablespaces.FirstOrDefault(t => t.FileName == file.Name);
            var into = tablespace is null ? full : placement.GetValueOrDefault(tablespace.Oid) ?? Path.Combine(full, "pg_tblspc", tablespace.Oid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (tablespace is not null)
            {
                DirectoryAccess.CreatePrivate(into, user);
            }
            await BackupFileStore.ReadVerifiedAsync(repository, layout.BackupFileKey(backup.Id, file.Name), file, stream => Task.Run(() =>
            {
                if (file.Name == PhysicalBackup.ManifestFile)
                {
                    using var manifest = File.Create(Path.Combine(full, "backup_manifest"));
                    stream.CopyTo(manifest);
                }
                else
                {
                    TarExtraction.Extract(stream, into, oid => placement.GetValueOrDefault(oid));
                }
            }, ct), progress, ct);
            progress.Done();
        }
        PlaceTablespaces(backup, full, placement);
        ChownTree(full, user);
        foreach (var dir in placement.Values.OfType<string>())
        {
            ChownTree(dir, user);
        }
    }

    /// <summary>
    /// pg_basebackup's tar mode writes tablespace_map ("oid location" per line), from which PostgreSQL
    /// would recreate each pg_tblspc link to the source's location at start-up — removing whatever is
    /// there first. The links are made here instead (to the mapped directory, or none for a tablespace
    /// inside the copy), and tablespace_map is removed.
    /// </summary>
    private static void PlaceTablespaces(BackupManifest backup, string full, IReadOnlyDictionary<uint, string?> placement)
    {
        File.Delete(Path.Combine(full, "tablespace_map"));
        foreach (var t in backup.Tablespaces)
        {
            var link = Path.Combine(full, "pg_tblspc", t.Oid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (placement.GetValueOrDefault(t.Oid) is { } target && new FileInfo(link).LinkTarget is null)
            {
                if (Directory.Exists(link))
                {
                    Directory.Delete(link);
                }
                File.CreateSymbolicLink(link, target);
            }
        }
    }

    /// <summary>
    /// Writes the recovery settings into an unpacked backup, starts PostgreSQL as the server user
    /// and waits for <paramref name="target"/>; leaves it running (stops it when recovery fails).
    /// </summary>
    public async Task<Result> RecoverAsync(RecoveryTarget target, string full, int? port, TimeSpan timeout, CancellationToken ct)
    {
        var user = launcher.ServerUser;
        var chosenPort = port ?? FreePort();
        var socketDir = SocketDirFor(chosenPort);
        Directory.CreateDirectory(socketDir);
        File.SetUnixFileMode(socketDir, (UnixFileMode)0b111_101_101);
        if (Libc.IsRoot)
        {
            Libc.Chown(socketDir, user.Uid, user.Gid);
        }
        WriteRecoveryConfig(full, target, chosenPort, socketDir);
        ChownTree(full, user);

        var logFile = full + ".log";
        if (!File.Exists(logFile))
        {
            File.WriteAllText(logFile, "");
            if (Libc.IsRoot)
            {
                Libc.Chown(logFile, user.Uid, user.Gid);
            }
        }
        var start = await tools.RunAsync(new ToolCommand(bin.PgCtl, ["-D", full, "-l", logFile, "-w", "-t", "60", "start"]) { Timeout = TimeSpan.FromMinutes(2) }, ct);
        var log = ServerLogTail(full, logFile);
        if (!start.Succeeded)
        {
            RemoveIfEmpty(socketDir);
            throw new PgWardenException(ExitCodes.OperationFailed, $"the restored PostgreSQL in {full} did not start: {Hint(log, target)}");
        }
        output($"  PostgreSQL started on 127.0.0.1:{chosenPort} (socket {socketDir}), replaying archived WAL");
        string summary;
        try
        {
            summary = await WaitForTargetAsync(full, target, chosenPort, socketDir, logFile, timeout, ct);
        }
        catch (Exception)
        {
            await StopAsync(full, ct);
            RemoveIfEmpty(socketDir);
            throw;
        }
        output(summary);
        return new Result(chosenPort, socketDir, summary, true);
    }

    /// <summary>The socket directory of a stopped scratch server holds nothing once PostgreSQL removed its socket and lock.</summary>
    private static void RemoveIfEmpty(string dir)
    {
        if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
        }
    }

    /// <summary>Refuses a target before the end of the backup (the earliest consistent point) with the recoverable range.</summary>
    public static void CheckTarget(BackupManifest backup, RecoveryTarget target)
    {
        if (target.Count > 1)
        {
            throw new PgWardenException(ExitCodes.Unreachable, "give at most one of --target-time, --target-lsn, --target-name, --target-xid, --immediate");
        }
        var range = $"backup {backup.Id} can recover from {backup.StopTime:yyyy-MM-dd HH:mm:ss}Z (LSN {backup.StopLsn}) to the end of the archived WAL";
        if (target.Time is { } t && t < backup.StopTime)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"target time {t.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z is before the end of the base backup; {range} (choose an older backup with --backup ID)");
        }
        if (target.Lsn is { } l && backup.StopLsn is { } stop && Lsn.Parse(l) < Lsn.Parse(stop))
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"target LSN {l} is before the end of the base backup; {range}");
        }
    }

    private const string RecoverySettingsHeader = "\n# Point-in-time recovery written by pgwarden restore\n";

    /// <summary>Removes what restore appended to postgresql.auto.conf (scratch port, socket, archiving off, targets), for a copy that becomes a cluster node.</summary>
    public static void RemoveRecoverySettings(string dir)
    {
        var auto = Path.Combine(dir, "postgresql.auto.conf");
        var text = File.ReadAllText(auto);
        var at = text.IndexOf(RecoverySettingsHeader, StringComparison.Ordinal);
        if (at >= 0)
        {
            File.WriteAllText(auto, text[..at] + "\n");
        }
    }

    private void WriteRecoveryConfig(string dir, RecoveryTarget target, int port, string socketDir)
    {
        var standby = Path.Combine(dir, "standby.signal");
        if (File.Exists(standby))
        {
            File.Delete(standby);
        }
        File.WriteAllText(Path.Combine(dir, "recovery.signal"), "");
        var restore = $"{ConfValue.Shell(pgwardenBinary)} wal-fetch --config {ConfValue.Shell(cluster.ConfigFile)} %f %p";
        var lines = new List<(string, string)>
        {
            ("listen_addresses", "127.0.0.1"),
            ("port", port.ToString(CultureInfo.InvariantCulture)),
            ("unix_socket_directories", socketDir),
            ("cluster_name", $"{cluster.Name}-restore"),
            ("archive_mode", "off"),
            ("primary_conninfo", ""),
            ("primary_slot_name", ""),
            ("restore_command", restore),
            ("logging_collector", "off"),
        };
        var tblspc = Path.Combine(dir, "pg_tblspc");
        if (Directory.Exists(tblspc) && Directory.EnumerateDirectories(tblspc).Any(d => new FileInfo(d).LinkTarget is null))
        {
            // Tablespaces restored inside the copy are directories, not links: PostgreSQL 15 accepts them only with this set.
            lines.Add(("allow_in_place_tablespaces", "on"));
        }
        lines.AddRange(target.Settings());
        var text = RecoverySettingsHeader + string.Join("", lines.Select(l => $"{l.Item1} = {ConfValue.Pg(l.Item2)}\n"));
        File.AppendAllText(Path.Combine(dir, "postgresql.auto.conf"), text);
    }

    private async Task<string> WaitForTargetAsync(string dir, RecoveryTarget target, int port, string socketDir, string logFile, TimeSpan timeout, CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder
        {
            Host = socketDir, Port = port, Username = cluster.Database.Superuser, Database = "postgres", Timeout = 5, Pooling = false,
        }.ConnectionString;
        var deadline = DateTime.UtcNow + timeout;
        var wantPaused = target.Count > 0 && target.Action == "pause";
        while (true)
        {
            var pid = PostmasterPid(dir);
            if (pid is null || !Libc.IsAlive(pid.Value))
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"the restored PostgreSQL stopped during recovery: {Hint(ServerLogTail(dir, logFile), target)}");
            }
            try
            {
                await using var conn = new NpgsqlConnection(cs);
                await conn.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand(
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE 'not paused' END, coalesce(pg_last_wal_replay_lsn()::text, pg_current_wal_lsn()::text)," +
                    " (SELECT timeline_id FROM pg_control_checkpoint()), pg_last_xact_replay_timestamp()", conn);
                await using var r = await cmd.ExecuteReaderAsync(ct);
                await r.ReadAsync(ct);
                var inRecovery = r.GetBoolean(0);
                var pause = r.GetString(1);
                var lsn = r.IsDBNull(2) ? "?" : r.GetString(2);
                var lastXact = r.IsDBNull(4) ? null : (DateTime?)r.GetDateTime(4);
                if ((!wantPaused && !inRecovery) || (wantPaused && inRecovery && pause == "paused"))
                {
                    var stopLine = File.Exists(logFile) ? File.ReadLines(logFile).LastOrDefault(l => l.Contains("recovery stopping", StringComparison.Ordinal) || l.Contains("recovery stopping", StringComparison.Ordinal)) : null;
                    var state = inRecovery ? "paused in recovery (read-only; promote with SELECT pg_wal_replay_resume() or pg_ctl promote)" : "promoted (read-write)";
                    return $"recovered to {target.Describe()}: replayed up to LSN {lsn}" +
                           (lastXact is { } x ? $", last replayed commit at {x:yyyy-MM-dd HH:mm:ss.ffffff}" : "") +
                           $"; {state}" + (stopLine is null ? "" : $"; server: {StripPrefix(stopLine)}");
                }
            }
            catch (NpgsqlException)
            {
                // Not accepting connections yet.
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new PgWardenException(ExitCodes.Timeout, $"recovery did not reach {target.Describe()} within {timeout.TotalSeconds:0} s: {Hint(ServerLogTail(dir, logFile), target)}");
            }
            await Task.Delay(300, ct);
        }
    }

    private async Task StopAsync(string dir, CancellationToken ct) =>
        await tools.RunAsync(new ToolCommand(bin.PgCtl, ["-D", dir, "-m", "fast", "-w", "-t", "60", "stop"]) { Timeout = TimeSpan.FromMinutes(2) }, ct);

    private static int? PostmasterPid(string dir) => PgWarden.Postgres.Os.PostmasterPidFile.LivePostmaster(dir);

    private static string ServerLogTail(string dir, string logFile) =>
        File.Exists(logFile) ? string.Join("\n", File.ReadLines(logFile).TakeLast(30)) : "";

    /// <summary>The most telling server lines (FATAL/PANIC/ERROR, else the last lines); for a target beyond the archive, what that means.</summary>
    private static string Hint(string log, RecoveryTarget? target = null)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Any(l => l.Contains("before configured recovery target was reached", StringComparison.Ordinal)))
        {
            var last = lines.LastOrDefault(l => l.Contains("last completed transaction was at log time", StringComparison.Ordinal));
            var lastCommit = last is null ? null : last[(last.IndexOf("log time", StringComparison.Ordinal) + "log time ".Length)..].Trim();
            return BeyondArchiveMessage(target, lastCommit);
        }
        var bad = lines.Where(l => l.Contains("FATAL") || l.Contains("PANIC") || l.Contains("ERROR")).TakeLast(3).ToList();
        return string.Join(" / ", (bad.Count > 0 ? bad : lines.TakeLast(3)).Select(StripPrefix));
    }

    /// <summary>
    /// Recovery replayed every archived WAL file without reaching the target. For a time, that means no
    /// transaction in the archive committed after it (recovery to a time stops at the first commit after
    /// it) — not that WAL ends there; either way the needed WAL may still sit in the primary's current segment.
    /// </summary>
    public static string BeyondArchiveMessage(RecoveryTarget? target, string? lastCommit)
    {
        const string Advice = "if the primary has committed since, its current WAL segment is probably not archived yet: run `pgwarden restore-point NAME` (it writes a restore point and switches the segment) and restore with --target-name NAME; or omit the target to recover everything archived";
        var last = lastCommit is null ? "no transaction commits in the archived WAL after the backup" : $"the last transaction in the archived WAL committed at {lastCommit}";
        return target?.Time is { } t
            ? $"no transaction in the archived WAL committed after the target time {t.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}+00, so recovery cannot tell that it passed it ({last}); {Advice}"
            : $"the archived WAL ends before {target?.Describe() ?? "the target"} ({last}); {Advice}";
    }

    private static string StripPrefix(string line)
    {
        var i = line.IndexOf("]: ", StringComparison.Ordinal);
        return (i >= 0 ? line[(i + 3)..] : line).Trim();
    }

    private static void ChownTree(string dir, OsUser user)
    {
        if (!Libc.IsRoot || user.Uid == 0)
        {
            return;
        }
        Libc.Chown(dir, user.Uid, user.Gid);
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories))
        {
            Libc.Chown(entry, user.Uid, user.Gid);
        }
    }

    /// <summary>The socket directory of a PostgreSQL restored on <paramref name="port"/>.</summary>
    public static string SocketDirFor(int port) => Path.Combine(Path.GetTempPath(), $"pgwarden-restore-{port}");

    /// <summary>A port nobody listens on at 127.0.0.1 right now.</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
