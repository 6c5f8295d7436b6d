using System.Diagnostics;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Logical;

/// <summary>
/// Reads table slices out of the dump's snapshot and loads them back, <c>jobs</c> at a time, each
/// through its own psql (as the server OS user over the node's socket, like pg_dump): COPY text
/// streamed straight into zstd and the repository on the way out, and from the repository
/// (checksums verified before the COPY is let to finish) into COPY FROM STDIN on the way in.
/// </summary>
public sealed class SlicedTableData(IBackupRepository repository, string psql, IReadOnlyList<string> connection, ProcessLauncher launcher)
{
    private const int LockTimeoutSeconds = 10;

    /// <summary>zstd level 1, as for the rest of the dump.</summary>
    private const int Level = 1;

    public async Task<IReadOnlyList<BackupFile>> DumpAsync(string database, DumpSnapshot snapshot, IReadOnlyList<TableChunk> chunks, Func<string, string> key, int jobs, Progress progress, CancellationToken ct)
    {
        var files = new BackupFile[chunks.Count];
        await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = jobs, CancellationToken = ct }, async (chunk, token) =>
        {
            // The table is already locked by the snapshot's transaction, so this COPY waits for its
            // lock only when a DDL statement queued behind that one: give up (as pg_dump's workers
            // do) instead of waiting for each other forever.
            var command = Psql(database, snapshot.Encoding, DumpSessionSettings.Dump,
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", $"SET TRANSACTION SNAPSHOT '{snapshot.Id}'", $"SET LOCAL lock_timeout = '{LockTimeoutSeconds}s'", chunk.CopyOutSql, "COMMIT");
            using var process = Start(command);
            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await using var rows = new ProgressStream(process.StandardOutput.BaseStream, progress);
                files[chunk.Index] = await BackupFileStore.StoreAsync(repository, key(chunk.FileName), chunk.FileName, rows, Level, token);
                await process.WaitForExitAsync(token);
            }
            finally
            {
                Stop(process);
            }
            if (process.ExitCode != 0)
            {
                var error = (await stderr).Trim();
                var hint = error.Contains("lock timeout", StringComparison.Ordinal)
                    ? $" — another session is waiting for an exclusive lock on {chunk.QualifiedName} (a DDL statement?) behind this backup; run the backup again when it is done"
                    : "";
                throw new PgWardenException(ExitCodes.OperationFailed, $"reading {chunk.QualifiedName} (pages {chunk.FromPage}…{chunk.ToPage?.ToString() ?? "end"}) failed (psql exit {process.ExitCode}): {error}{hint}");
            }
        });
        return files;
    }

    /// <summary>Loads every slice into <paramref name="database"/>; a slice whose checksum fails is rolled back (its psql is killed before COPY sees the end).</summary>
    public async Task LoadAsync(string database, TableDataIndex index, IReadOnlyDictionary<string, BackupFile> stored, Func<string, string> key, int jobs, Progress progress, CancellationToken ct)
    {
        await Parallel.ForEachAsync(index.Chunks, new ParallelOptions { MaxDegreeOfParallelism = jobs, CancellationToken = ct }, async (chunk, token) =>
        {
            var file = stored.GetValueOrDefault(chunk.FileName)
                ?? throw new PgWardenException(ExitCodes.OperationFailed, $"the backup's data/index.json names {chunk.FileName}, which its manifest does not list");
            using var process = Start(Psql(database, index.Encoding, DumpSessionSettings.Restore, chunk.CopyInSql));
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            try
            {
                await BackupFileStore.ReadVerifiedAsync(repository, key(chunk.FileName), file, s => s.CopyToAsync(process.StandardInput.BaseStream, 1 << 20, token), progress, token);
                process.StandardInput.Close();
                await process.WaitForExitAsync(token);
            }
            catch (IOException) when (process.WaitForExit(5000) && process.ExitCode != 0)
            {
                // psql stopped reading: COPY failed on the server; its message says why.
            }
            finally
            {
                Stop(process);
            }
            await stdout;
            if (process.ExitCode != 0)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"loading {chunk.QualifiedName} from {chunk.FileName} failed (psql exit {process.ExitCode}): {(await stderr).Trim()}");
            }
        });
    }

    /// <summary>
    /// psql with its stdio buffers at 1 MiB (coreutils' stdbuf, when present): psql writes COPY data
    /// row by row into stdio, which flushes every 4 KiB into a pipe by default. The session runs
    /// with <paramref name="settings"/> (pg_dump's or pg_restore's), never the database's own.
    /// </summary>
    private ToolCommand Psql(string database, string encoding, IReadOnlyList<(string Name, string Value)> settings, params string[] statements)
    {
        string[] args = [.. connection, "-d", Sql.DbName(database), "-X", "-q", "-v", "ON_ERROR_STOP=1", .. statements.SelectMany(s => new[] { "-c", s })];
        var environment = DumpSessionSettings.Environment(settings, encoding);
        return File.Exists(StdBuf)
            ? new ToolCommand(StdBuf, [$"-i{PipeBuffer.Size}", $"-o{PipeBuffer.Size}", psql, .. args]) { Environment = environment }
            : new ToolCommand(psql, args) { Environment = environment };
    }

    private const string StdBuf = "/usr/bin/stdbuf";

    private Process Start(ToolCommand command)
    {
        var process = new Process { StartInfo = launcher.StartInfo(command, redirect: true) };
        process.Start();
        PipeBuffer.Enlarge(process.StandardOutput.BaseStream);
        PipeBuffer.Enlarge(process.StandardInput.BaseStream);
        return process;
    }

    /// <summary>Kills a psql still running (the caller failed or was cancelled): an unfinished COPY is rolled back.</summary>
    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
