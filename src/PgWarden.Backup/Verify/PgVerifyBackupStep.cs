using PgWarden.Postgres.Tools;

namespace PgWarden.Backup.Verify;

/// <summary>
/// pg_verifybackup on an unpacked physical backup: every file against the backup_manifest
/// pg_basebackup put into the tar (sizes and CRC-32C), and the WAL from the backup's start to its
/// end parsed with pg_waldump — from the verified archive copies when they are all there, else
/// from the backup's own pg_wal (pg_basebackup -X fetch put it there).
/// </summary>
public sealed class PgVerifyBackupStep(PgBinaries bin, IToolRunner tools, Action<string> output)
{
    public string Program => Path.Combine(bin.BinDir, "pg_verifybackup");

    public async Task RunAsync(string dataDir, string? archivedWalDir, VerifyReport report, CancellationToken ct)
    {
        if (!File.Exists(Path.Combine(dataDir, "backup_manifest")))
        {
            report.Note("the backup holds no backup_manifest, so pg_verifybackup could not run");
            output("  pg_verifybackup: skipped (no backup_manifest in the backup)");
            return;
        }
        var walSource = archivedWalDir is null ? "the backup's pg_wal" : "the archived WAL";
        output($"  pg_verifybackup: checking every file against backup_manifest and parsing {walSource}");
        // Read-only on files PgWarden unpacked itself; runs as the invoking user.
        // tablespace_map is replaced by real links when a backup is unpacked (see Restorer), so it is not there to check.
        var command = new ToolCommand(Program, [.. archivedWalDir is null ? Array.Empty<string>() : ["--wal-directory", archivedWalDir], "--ignore", "tablespace_map", dataDir])
        {
            AsServerUser = false,
            Timeout = TimeSpan.FromHours(12),
        };
        var result = await tools.RunAsync(command, ct);
        if (result.Succeeded)
        {
            report.Pass($"pg_verifybackup ok (files and WAL from {walSource})");
            output($"  {report.Passed[^1]}");
        }
        else
        {
            var lines = (result.StandardError + "\n" + result.StandardOutput).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.StartsWith("pg_verifybackup: ", StringComparison.Ordinal) ? l["pg_verifybackup: ".Length..] : l)
                .Where(l => !l.StartsWith("hint:", StringComparison.Ordinal) && !l.StartsWith("detail:", StringComparison.Ordinal))
                .ToList();
            var first = lines.FirstOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal)) ?? lines.FirstOrDefault() ?? $"exit {result.ExitCode}";
            report.Fail($"pg_verifybackup: {first.Replace("error: ", "", StringComparison.Ordinal)}" + (lines.Count > 1 ? $" ({lines.Count} lines, see above)" : ""));
            foreach (var line in lines.Take(20))
            {
                output($"    {line}");
            }
        }
    }
}
