using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using PgWarden.Core.Processes;

namespace PgWarden.Backup;

/// <summary>
/// Local scratch space of backups and restores (dump staging, downloaded dumps, tablespace tars, S3 spools,
/// verify scratch directories, restore socket directories): named <c>pgwarden-KIND-PID-RANDOM</c>, so that
/// what a killed process (SIGKILL, OOM, a host reboot) left can be told from what a running one uses. The
/// next backup, restore, verify or prune removes every such entry whose process is gone — never one whose
/// process runs, nor one a PostgreSQL still running uses (a restore left running with --keep-running).
/// </summary>
public static partial class LocalStaging
{
    /// <summary>Older releases named staging without the PID; those are removed once older than any backup may run.</summary>
    private static readonly TimeSpan LegacyMaxAge = TimeSpan.FromHours(25);

    public const string Dump = "dump";
    public const string RestoreDump = "restore-dump";
    public const string BaseBackup = "basebackup";
    public const string Verify = "verify";
    public const string RestoreSocket = "restore-socket";
    public const string S3Spool = "s3";

    [GeneratedRegex(@"^pgwarden-(dump|restore-dump|basebackup|verify|restore-socket|s3)-(\d+)-[0-9a-f]{8}(\.[a-z.]+)?$")]
    private static partial Regex Named();

    [GeneratedRegex(@"^pgwarden-((dump|restore-dump|basebackup|verify|s3)-[0-9a-f]{24,32}(\.sql\.gz)?|restore-\d{1,5})$")]
    private static partial Regex Legacy();

    /// <summary>A new path (not created) for scratch space of <paramref name="kind"/> under <paramref name="parent"/>, owned by this process.</summary>
    public static string NewPath(string parent, string kind) =>
        Path.Combine(parent, $"pgwarden-{kind}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    /// <summary>
    /// Removes the scratch entries under <paramref name="parent"/> whose process is gone (and legacy ones
    /// older than a day); returns what it removed. Never throws: it runs before real work.
    /// </summary>
    public static IReadOnlyList<string> SweepStale(string parent, Action<string> output)
    {
        var removed = new List<string>();
        if (!Directory.Exists(parent))
        {
            return removed;
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(parent, "pgwarden-*"))
        {
            var name = Path.GetFileName(entry);
            var named = Named().Match(name);
            var stale = named.Success
                ? !Libc.IsAlive(int.Parse(named.Groups[2].Value, CultureInfo.InvariantCulture))
                : Legacy().IsMatch(name) && DateTime.UtcNow - Directory.GetLastWriteTimeUtc(entry) > LegacyMaxAge;
            if (!stale || UsedByARunningServer(entry))
            {
                continue;
            }
            try
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
                removed.Add(entry);
                output($"removed {entry}, left by a pgwarden process that is gone");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                output($"warning: could not remove {entry}, left by a pgwarden process that is gone: {e.Message}");
            }
        }
        return removed;
    }

    /// <summary>A socket lock file or postmaster.pid inside (at any depth up to 2) that names a live process.</summary>
    private static bool UsedByARunningServer(string entry)
    {
        if (!Directory.Exists(entry))
        {
            return false;
        }
        try
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2, IgnoreInaccessible = true, AttributesToSkip = 0 };
            foreach (var file in Directory.EnumerateFiles(entry, "*", options))
            {
                var name = Path.GetFileName(file);
                if ((name == "postmaster.pid" || (name.StartsWith(".s.PGSQL.", StringComparison.Ordinal) && name.EndsWith(".lock", StringComparison.Ordinal)))
                    && File.ReadLines(file).FirstOrDefault() is { } first && int.TryParse(first.Trim(), CultureInfo.InvariantCulture, out var pid) && Libc.IsAlive(pid))
                {
                    return true;
                }
            }
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true; // cannot tell: leave it
        }
    }
}
