using System.Formats.Tar;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
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
/// loopback port with restore_command = pgwarden wal-fetch --abort-on-damage, and watched until the target
/// is reached. Recovery follows the timeline the target lies on (see <see cref="RecoveryPlan"/>), so the
/// promoted copy's history file is true — and is checked to be. Archiving is off in the restored instance,
/// so it never writes into the cluster's archive.
/// </summary>
public sealed class Restorer(ClusterConfig cluster, IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher, IToolRunner tools, string pgwardenBinary, Action<string> output)
{
    public sealed record Result(int Port, string SocketDir, string Summary, bool Running);

    private RecoveryServer? _server;

    /// <summary>Reads the archive and decides how recovery of <paramref name="backup"/> to <paramref name="target"/> follows it (refusing a hole on the way).</summary>
    public async Task<RecoveryPlan> PlanAsync(BackupManifest backup, RecoveryTarget target, CancellationToken ct)
    {
        var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
        var names = (await repository.ListAsync(layout.WalPrefix, ct)).Select(o => layout.WalNameOf(o.Key)).OfType<string>().ToList();
        return RecoveryPlan.Decide(backup, target, await ArchivedTimelines.ReadAsync(repository, layout, ct), names);
    }

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
        var plan = await PlanAsync(backup, target, ct);
        var directories = new RestoreTargetDirectory([full, .. placement.Values.OfType<string>()]);
        await directories.PrepareAsync(options.Force, d => ScratchStopAsync(d), output);
        output($"restoring backup {backup.Id} ({backup.StartTime:yyyy-MM-dd HH:mm:ss}Z, {Progress.Mb(backup.Size)}) into {full}, recovering to {target.Describe()}"
               + (plan.ReservedTimelines.Count > 0 ? $" (timeline(s) {string.Join(", ", plan.ReservedTimelines)} have archived WAL but no history file: a promotion takes a number after them)" : ""));
        Result result;
        try
        {
            DirectoryAccess.EnsureTraversable(full, launcher.ServerUser);
            DirectoryAccess.CreatePrivate(full, launcher.ServerUser);
            directories.Mark();
            await UnpackAsync(backup, full, placement, ct);
            var placeholders = plan.ReservedTimelines.Select(t => Path.Combine(full, "pg_wal", $"{t:X8}.history")).ToList();
            foreach (var file in placeholders)
            {
                File.WriteAllText(file, "# placeholder written by pgwarden restore: this timeline has archived WAL but no history file, so a promotion must not reuse its number\n");
            }
            ChownTree(Path.Combine(full, "pg_wal"), launcher.ServerUser);
            result = await RecoverAsync(backup, plan, target, full, port, keepRunning, timeout, ct);
            if (!keepRunning)
            {
                await StopServerAsync();
                RemoveIfEmpty(result.SocketDir);
                placeholders.ForEach(File.Delete);
            }
        }
        catch (Exception)
        {
            await StopServerAsync();
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
    /// Writes the recovery settings into an unpacked backup, starts PostgreSQL as the server user (a child that
    /// dies with this process unless <paramref name="detached"/>) and waits for <paramref name="target"/> along
    /// <paramref name="plan"/>; leaves it running (stopped when recovery fails). A promoted copy's new history
    /// file is checked against the archive's history, and recovery to the end of the archive must have
    /// replayed every archived segment of that history.
    /// </summary>
    public async Task<Result> RecoverAsync(BackupManifest backup, RecoveryPlan plan, RecoveryTarget target, string full, int? port, bool detached, TimeSpan timeout, CancellationToken ct)
    {
        var user = launcher.ServerUser;
        var chosenPort = port ?? FreePort();
        var socketDir = LocalStaging.NewPath(Path.GetTempPath(), LocalStaging.RestoreSocket);
        Directory.CreateDirectory(socketDir);
        File.SetUnixFileMode(socketDir, (UnixFileMode)0b111_101_101);
        if (Libc.IsRoot)
        {
            Libc.Chown(socketDir, user.Uid, user.Gid);
        }
        string Explain(string log) => Hint(log, target, backup, plan);
        try
        {
            RecoveryServer.Reached reached;
            var followed = plan.Timeline;
            if (followed is { } decided)
            {
                reached = await PassAsync(target with { Timeline = decided }, full, chosenPort, socketDir, detached, timeout, Explain, ct);
            }
            else
            {
                // Where a time, transaction or restore point lies is known only by replaying: pause there along the newest timeline first.
                var newest = plan.Path.Target;
                reached = await PassAsync(target with { Timeline = newest, Action = "pause" }, full, chosenPort, socketDir, detached, timeout, Explain, ct);
                followed = reached.ReplayLsn is { } at ? plan.Path.TimelineAt(at) : newest;
                if (followed == newest && target.Action == "promote")
                {
                    await _server!.ResumeAsync(ct);
                    reached = await _server.WaitAsync(target, paused: false, timeout, Explain, ct);
                }
                else if (followed != newest)
                {
                    output($"  {target.Describe()} lies at {Lsn.Format(reached.ReplayLsn!.Value)} on timeline {followed}, before timeline {newest}'s history left it: recovering again along timeline {followed}, so that the new timeline's history is true");
                    await StopServerAsync();
                    RemoveRecoverySettings(full);
                    reached = await PassAsync(target with { Timeline = followed }, full, chosenPort, socketDir, detached, timeout, Explain, ct);
                }
            }
            if (reached.Promoted)
            {
                CheckPromotion(backup, plan, target, full, followed!.Value);
            }
            output(reached.Summary);
            return new Result(chosenPort, socketDir, reached.Summary, true);
        }
        catch (Exception)
        {
            await StopServerAsync();
            RemoveIfEmpty(socketDir);
            throw;
        }
    }

    /// <summary>One recovery run: settings for <paramref name="target"/>, a server started, and the wait for the target.</summary>
    private async Task<RecoveryServer.Reached> PassAsync(RecoveryTarget target, string full, int port, string socketDir, bool detached, TimeSpan timeout, Func<string, string> explain, CancellationToken ct)
    {
        WriteRecoveryConfig(full, target, port, socketDir);
        ChownTree(full, launcher.ServerUser);
        _server = new RecoveryServer(bin, launcher, tools, cluster.Database.Superuser, full, port, socketDir, detached, output);
        await _server.StartAsync(explain, ct);
        output($"  PostgreSQL started on 127.0.0.1:{port} (socket {socketDir}), replaying archived WAL along timeline {target.Timeline}");
        return await _server.WaitAsync(target, paused: target.Count > 0 && target.Action == "pause", timeout, explain, ct);
    }

    /// <summary>
    /// The history file the promotion wrote must be true (see <see cref="RecoveryPlan.HistoryProblem"/>), and recovery to
    /// the end of the archive must have read every archived segment of the path: else the copy is refused.
    /// </summary>
    private static void CheckPromotion(BackupManifest backup, RecoveryPlan plan, RecoveryTarget target, string full, uint followed)
    {
        var written = Directory.GetFiles(Path.Combine(full, "pg_wal"), "*.history")
            .Select(f => (Path: f, Name: WalFileName.TryParse(Path.GetFileName(f))))
            .Where(h => h.Name is not null && !File.ReadAllText(h.Path).StartsWith('#'))
            .MaxBy(h => h.Name!.Timeline);
        if (written.Name is null)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"the restored copy in {full} has no timeline history file after its promotion");
        }
        var history = TimelineHistory.Parse(written.Name.Timeline, File.ReadAllText(written.Path));
        if (plan.HistoryProblem(history, written.Name.Timeline, followed) is { } problem)
        {
            throw new PgWardenException(ExitCodes.OperationFailed,
                $"the restored copy was promoted to timeline {written.Name.Timeline} with a history that does not match the archive's ({problem}); refusing it");
        }
        if (target.Count == 0 && history.SwitchPoint(followed) is { } end && plan.StoppedEarly(backup, end) is { } early)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"{early} (see the server log); refusing a copy that silently lacks that WAL");
        }
    }

    /// <summary>Stops the server this restorer started, if it runs (never throws).</summary>
    public async Task StopServerAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync();
        }
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
            throw new PgWardenException(ExitCodes.Usage, "give at most one of --target-time, --target-lsn, --target-name, --target-xid, --immediate");
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
        // A damaged archived file must abort recovery, not end it as if the archive ended there.
        var restore = $"{ConfValue.Shell(pgwardenBinary)} wal-fetch --config {ConfValue.Shell(cluster.ConfigFile)} --abort-on-damage %f %p";
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

    /// <summary>
    /// The most telling server lines: a damaged archived file wal-fetch refused, FATAL/PANIC/ERROR lines, else the
    /// last lines. For a target recovery did not reach: the hole in the archive where it stopped, if there is
    /// one; else what a target beyond the archive means.
    /// </summary>
    private static string Hint(string log, RecoveryTarget target, BackupManifest backup, RecoveryPlan plan)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.LastOrDefault(l => l.Contains(WalFetchDamage, StringComparison.Ordinal)) is { } damaged)
        {
            return damaged[(damaged.IndexOf(WalFetchDamage, StringComparison.Ordinal) + WalFetchDamage.Length)..].Trim()
                   + "; recovery was aborted rather than stopped there (the WAL after it would have been lost silently)";
        }
        if (lines.Any(l => l.Contains("before configured recovery target was reached", StringComparison.Ordinal)))
        {
            if (ArchiveContinuity.FindGap(plan.Path, backup.Timeline, backup.StartPosition(), plan.ArchivedNames) is { } gap)
            {
                var redo = lines.LastOrDefault(l => l.Contains("redo done at ", StringComparison.Ordinal));
                return $"recovery stopped before {target.Describe()}{(redo is null ? "" : $" ({RecoveryServer.StripPrefix(redo).Split(" system usage")[0]})")} because {gap.Describe()}: "
                       + $"the WAL after the hole cannot be replayed. Put {gap.Missing} back into the archive, or restore to a target before it";
            }
            var last = lines.LastOrDefault(l => l.Contains("last completed transaction was at log time", StringComparison.Ordinal));
            var lastCommit = last is null ? null : last[(last.IndexOf("log time", StringComparison.Ordinal) + "log time ".Length)..].Trim();
            return BeyondArchiveMessage(target, lastCommit);
        }
        var bad = lines.Where(l => l.Contains("FATAL") || l.Contains("PANIC") || l.Contains("ERROR")).TakeLast(3).ToList();
        return string.Join(" / ", (bad.Count > 0 ? bad : lines.TakeLast(3)).Select(RecoveryServer.StripPrefix));
    }

    /// <summary>What wal-fetch --abort-on-damage writes (into the server log) before it makes PostgreSQL abort recovery.</summary>
    public const string WalFetchDamage = "pgwarden wal-fetch: DAMAGED:";

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

    /// <summary>A port nobody listens on at 127.0.0.1 right now.</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
