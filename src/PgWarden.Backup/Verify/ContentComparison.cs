using System.Diagnostics;
using System.IO.Compression;
using Npgsql;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Logical;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;
using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Verify;

/// <summary>
/// The logical restore test's content check: the rows of every table as the backup holds them (pg_dump's
/// COPY blocks, read back with pg_restore --data-only, and the slices) against the rows of the restored
/// table read out again with pg_dump's session settings — as order-independent digests
/// (<see cref="RowMultiset"/>). It catches what "it loaded" does not: text forms that depended on the
/// source's settings (a date written as 05/03/2024 under DateStyle 'SQL, DMY' loads as 3 May), lost digits, lost rows.
/// </summary>
public sealed class ContentComparison(IBackupRepository repository, PgBinaries bin, ProcessLauncher launcher)
{
    /// <summary>Digests of every table in a staged backup (see <see cref="LogicalRestore.StageAsync"/>).</summary>
    public async Task<Dictionary<(string Schema, string Table), RowMultiset>> ExpectedAsync(BackupManifest backup, string staging, CancellationToken ct)
    {
        Dictionary<(string, string), RowMultiset> tables;
        if (backup.Format == "directory")
        {
            var command = new ToolCommand(Path.Combine(bin.BinDir, "pg_restore"), ["-f", "-", "--data-only", Path.Combine(staging, "dump")]);
            tables = await StreamAsync(command, CopyText.Blocks, "pg_restore --data-only of the staged dump", ct);
        }
        else
        {
            await using var gz = new GZipStream(File.OpenRead(Path.Combine(staging, "dump.sql.gz")), CompressionMode.Decompress);
            tables = await Task.Run(() => CopyText.Blocks(gz), ct);
        }
        if (backup.Files.FirstOrDefault(f => f.Name == TableDataIndex.FileName) is { } indexFile)
        {
            var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
            var index = await TableDataIndex.ReadAsync(repository, layout, backup, indexFile, ct);
            var stored = backup.Files.ToDictionary(f => f.Name, StringComparer.Ordinal);
            foreach (var chunk in index.Chunks)
            {
                RowMultiset? rows = null;
                await BackupFileStore.ReadVerifiedAsync(repository, layout.BackupFileKey(backup.Id, chunk.FileName), stored[chunk.FileName],
                    s => Task.Run(() => rows = CopyText.Rows(s), ct), null, ct);
                var key = (chunk.Schema, chunk.Table);
                if (!tables.TryGetValue(key, out var table))
                {
                    tables[key] = table = new RowMultiset();
                }
                table.Merge(rows!);
            }
        }
        return tables;
    }

    /// <summary>
    /// Compares the restored <paramref name="database"/> (reached over <paramref name="socketDir"/>) with
    /// <paramref name="expected"/>; returns a one-line summary, throws naming the first tables that differ.
    /// </summary>
    public async Task<string> CompareAsync(IReadOnlyDictionary<(string Schema, string Table), RowMultiset> expected, string socketDir, int port, string superuser, string database, CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder { Host = socketDir, Port = port, Username = superuser, Database = database, Pooling = false, Timeout = 10, CommandTimeout = 0 }.ConnectionString;
        var tables = new List<(string Schema, string Table, string Columns)>();
        string encoding;
        await using (var conn = new NpgsqlConnection(cs))
        {
            await conn.OpenAsync(ct);
            await using (var cmd = new NpgsqlCommand("SELECT current_setting('server_encoding')", conn))
            {
                encoding = (string)(await cmd.ExecuteScalarAsync(ct))!;
            }
            await using var list = new NpgsqlCommand("""
                SELECT n.nspname, c.relname,
                       array_to_string(array(SELECT quote_ident(a.attname) FROM pg_attribute a
                                             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum), ', ')
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
                ORDER BY 1, 2
                """, conn);
            await using var r = await list.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                tables.Add((r.GetString(0), r.GetString(1), r.GetString(2)));
            }
        }
        var differ = new List<string>();
        long rows = 0;
        var seen = new HashSet<(string, string)>();
        foreach (var (schema, table, columns) in tables)
        {
            seen.Add((schema, table));
            var name = $"{Sql.Ident(schema)}.{Sql.Ident(table)}";
            var copy = new ToolCommand(Path.Combine(bin.BinDir, "psql"),
                ["-h", socketDir, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", superuser, "-d", Logical.Sql.DbName(database), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                 "-c", $"COPY (SELECT {(columns.Length == 0 ? "" : columns)} FROM ONLY {name}) TO STDOUT"])
            {
                Environment = DumpSessionSettings.Environment(DumpSessionSettings.Dump, encoding),
            };
            var actual = await StreamAsync(copy, CopyText.Rows, $"reading {name} of the restored database", ct);
            rows += actual.Rows;
            var want = expected.GetValueOrDefault((schema, table)) ?? new RowMultiset();
            if (!want.Equals(actual))
            {
                differ.Add($"{schema}.{table} ({actual.Rows} rows restored, {want.Rows} in the backup{(actual.Rows == want.Rows ? ", with different content" : "")})");
            }
        }
        differ.AddRange(expected.Where(e => !seen.Contains(e.Key) && e.Value.Rows > 0).Select(e => $"{e.Key.Schema}.{e.Key.Table} (in the backup with {e.Value.Rows} rows, not restored)"));
        if (differ.Count > 0)
        {
            throw new PgWardenException(ExitCodes.OperationFailed,
                $"the restored rows differ from the backup's in {differ.Count} table(s): {string.Join("; ", differ.Take(3))}{(differ.Count > 3 ? "; …" : "")}");
        }
        return $"the content of all {tables.Count} tables ({rows} rows) matches the backup";
    }

    private async Task<T> StreamAsync<T>(ToolCommand command, Func<Stream, T> consume, string what, CancellationToken ct)
    {
        using var process = new Process { StartInfo = launcher.StartInfo(command, redirect: true) };
        process.Start();
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            var result = await Task.Run(() => consume(process.StandardOutput.BaseStream), ct);
            await process.WaitForExitAsync(ct);
            return process.ExitCode == 0 ? result
                : throw new PgWardenException(ExitCodes.OperationFailed, $"{what} failed (exit {process.ExitCode}): {(await stderr).Trim()}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
