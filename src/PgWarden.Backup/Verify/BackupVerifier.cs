using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Physical;
using PgWarden.Backup.Repository;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Verify;

/// <summary>
/// `pgwarden backup verify`: proves a backup restorable without touching the cluster. Physical:
/// unpack into a scratch directory (both SHA-256s of every stored file checked on the way), check
/// every archived WAL file it needs, run pg_verifybackup, and with a restore test recover the copy
/// to the end of the backup and query it. Logical: check every stored file, and with a restore test
/// pg_restore it into a scratch PostgreSQL and query it. The outcome is recorded as a new
/// verification-&lt;time&gt;.json next to the manifest; scratch data and processes never outlive the run.
/// Environment failures (a missing program, no space, a scratch server that cannot start) are
/// thrown and not recorded: they say nothing about the backup.
/// </summary>
public sealed class BackupVerifier(ClusterConfig cluster, IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher, IToolRunner tools, string pgwardenBinary, Action<string> output)
{
    /// <summary>The restore and dump code print top-level lines; under verify they are steps, so indent them.</summary>
    private void Step(string line) => output(line.StartsWith("  ", StringComparison.Ordinal) ? line : "  " + line);

    /// <summary>Room for the WAL copies and the scratch instance's own files, beyond the backup's size.</summary>
    private const long SpaceMargin = 256L << 20;

    public async Task<VerifyReport> VerifyAsync(BackupManifest backup, VerifyOptions options, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var physical = backup.Type == "physical";
        CheckInstalled(physical, options.RestoreTest);
        output($"verifying {backup.Type} backup {backup.Id} ({backup.Files.Count} file{(backup.Files.Count == 1 ? "" : "s")}, {Progress.Mb(backup.Size)}, {Progress.Mb(backup.StoredSize)} stored)"
               + (options.RestoreTest ? " with a restore test" : ""));
        var report = new VerifyReport();
        using (var scratch = ScratchDirectory.Create(options.ScratchParent, launcher.ServerUser, output))
        {
            var needed = physical ? backup.Size + SpaceMargin : options.RestoreTest ? 2 * backup.Size + SpaceMargin : 0;
            if (scratch.FreeBytes < needed)
            {
                throw new PgWardenException(ExitCodes.OperationFailed,
                    $"{options.ScratchParent} has {Progress.Mb(scratch.FreeBytes)} free; verifying backup {backup.Id} needs about {Progress.Mb(needed)} of scratch space (choose another place with --scratch-dir)");
            }
            if (physical)
            {
                await PhysicalAsync(backup, options, scratch, report, ct);
            }
            else
            {
                await LogicalAsync(backup, options, scratch, report, ct);
            }
        }
        var verification = new BackupVerification(DateTimeOffset.UtcNow, report.Ok, report.RestoreTested, report.Detail);
        var name = BackupCatalog.VerificationFileName(verification.Time);
        var key = new RepositoryLayout(backup.Cluster, backup.SystemId).BackupPrefix(backup.Id) + name;
        await BackupCatalog.PutTextAsync(repository, key, JsonSerializer.Serialize(verification, BackupManifest.Json), ct);
        foreach (var note in report.Notes)
        {
            output($"  note: {note}");
        }
        output(report.Ok
            ? $"backup {backup.Id} verified ok{(report.RestoreTested ? " and restore-tested" : "")} in {clock.Elapsed.TotalSeconds:0.0} s (recorded as {name})"
            : $"backup {backup.Id} FAILED verification in {clock.Elapsed.TotalSeconds:0.0} s (recorded as {name}): {report.Problems.Count} problem{(report.Problems.Count == 1 ? "" : "s")}");
        return report;
    }

    private async Task PhysicalAsync(BackupManifest backup, VerifyOptions options, ScratchDirectory scratch, VerifyReport report, CancellationToken ct)
    {
        var dataDir = scratch.Sub("data");
        var restorer = new Restorer(cluster, repository, bin, launcher, tools, pgwardenBinary, Step);
        var unpacked = await UnpackAsync(restorer, backup, dataDir, report, ct);
        var walOk = await new ArchivedWalCheck(repository, output).RunAsync(backup, scratch.Sub("wal"), report, ct);
        if (unpacked)
        {
            await new PgVerifyBackupStep(bin, tools, output).RunAsync(dataDir, walOk ? scratch.Sub("wal") : null, report, ct);
        }
        if (!ReportAndDecideRestoreTest(options, report))
        {
            return;
        }
        output("  restore test: recovering a copy to the end of the backup (immediate) and promoting it");
        await RestoreTestAsync(report, () => new PhysicalRestoreTest(cluster, restorer, bin, tools, output).RunAsync(backup, dataDir, options.RecoveryTimeout, ct));
    }

    private async Task<bool> UnpackAsync(Restorer restorer, BackupManifest backup, string dataDir, VerifyReport report, CancellationToken ct)
    {
        try
        {
            await restorer.UnpackAsync(backup, dataDir, TablespacePlacement.Plan(backup, RestoreOptions.Default), ct);
            report.Pass($"{backup.Files.Count} stored file{(backup.Files.Count == 1 ? "" : "s")} ({Progress.Mb(backup.StoredSize)}) checksummed and unpacked");
            output($"  files: {report.Passed[^1]}: {string.Join(", ", backup.Files.Select(f => f.Name))}");
            return true;
        }
        catch (PgWardenException e)
        {
            report.Fail(e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The archive itself broke (e.g. a damaged tar header) before the checksums were compared: name the file by its stored checksum.
            var damaged = await StoredChecksum.DamagedFilesAsync(repository, backup, ct);
            report.Fail(damaged.Count > 0
                ? $"backup file {damaged[0]} is corrupted (its SHA-256 differs from the manifest's; unpacking failed: {e.Message})"
                : $"backup {backup.Id} could not be unpacked: {e.Message}");
        }
        return false;
    }

    private async Task LogicalAsync(BackupManifest backup, VerifyOptions options, ScratchDirectory scratch, VerifyReport report, CancellationToken ct)
    {
        var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
        var progress = Progress.For("  checking files", backup.StoredSize, output);
        try
        {
            foreach (var file in backup.Files)
            {
                try
                {
                    await BackupFileStore.ReadVerifiedAsync(repository, layout.BackupFileKey(backup.Id, file.Name), file, s => s.CopyToAsync(Stream.Null, ct), progress, ct);
                }
                catch (PgWardenException e)
                {
                    report.Fail(e.Message);
                }
                catch (FileNotFoundException)
                {
                    report.Fail($"backup file {file.Name} is missing from {repository.Description}");
                }
            }
        }
        finally
        {
            progress.Done();
        }
        if (report.Ok)
        {
            report.Pass($"{backup.Files.Count} stored files ({Progress.Mb(backup.StoredSize)}) checksummed");
            output($"  files: {report.Passed[^1]}");
        }
        if (!ReportAndDecideRestoreTest(options, report))
        {
            return;
        }
        var test = new LogicalRestoreTest(cluster, repository, bin, launcher, tools, Step);
        using var sockets = ScratchDirectory.Create(Path.GetTempPath(), launcher.ServerUser, output);
        await using var instance = test.Instance(scratch, sockets);
        await instance.StartAsync(ct);
        output($"  restore test: restoring database {backup.Database} into the scratch PostgreSQL");
        await RestoreTestAsync(report, () => test.RunAsync(backup, scratch, sockets, instance, options.Jobs, ct));
    }

    /// <summary>Prints the problems found so far; true when a restore test was asked for and the backup passed the checks.</summary>
    private bool ReportAndDecideRestoreTest(VerifyOptions options, VerifyReport report)
    {
        foreach (var problem in report.Problems)
        {
            output($"  FAILED: {problem}");
        }
        if (options.RestoreTest && !report.Ok)
        {
            report.Note("restore test skipped: the backup already failed verification");
        }
        return options.RestoreTest && report.Ok;
    }

    /// <summary>Runs a restore test; its failure is the backup's (recorded), not an error of this command.</summary>
    private async Task RestoreTestAsync(VerifyReport report, Func<Task<string>> test)
    {
        try
        {
            var summary = await test();
            report.Pass($"restore test ok: {summary}");
            output($"  {report.Passed[^1]}");
        }
        catch (Exception e) when (e is PgWardenException or NpgsqlException or IOException)
        {
            var message = e is PostgresException pg ? pg.MessageText : e.Message;
            report.Fail($"restore test failed: {message}");
            output($"  FAILED: {report.Problems[^1]}");
        }
        report.RestoreTested = true;
    }

    private void CheckInstalled(bool physical, bool restoreTest)
    {
        var programs = new List<string>();
        if (physical)
        {
            programs.Add("pg_verifybackup");
            programs.Add("pg_waldump");
        }
        if (restoreTest)
        {
            programs.AddRange(physical ? ["pg_ctl"] : ["pg_ctl", "initdb", "pg_restore", "psql"]);
        }
        foreach (var program in programs.Select(p => Path.Combine(bin.BinDir, p)).Where(p => !File.Exists(p)))
        {
            throw new PgWardenException(ExitCodes.MissingDependency,
                $"{program} is missing: install PostgreSQL {cluster.Postgres.Version} (apt-get install postgresql-{cluster.Postgres.Version}) or set postgres.bin_dir");
        }
    }
}
