using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Backup.Verify;

/// <summary>
/// Checks that every archived WAL file a physical backup needs is in the repository, that both its
/// checksums match (the same read as wal-fetch) and that each segment's page header belongs to
/// this database system and this segment; writes the verified files into a directory for pg_verifybackup.
/// </summary>
public sealed class ArchivedWalCheck(IBackupRepository repository, Action<string> output)
{
    /// <summary>True when every needed file is there and sound (then <paramref name="walDir"/> holds them).</summary>
    public async Task<bool> RunAsync(BackupManifest backup, string walDir, VerifyReport report, CancellationToken ct)
    {
        var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
        var archiver = new WalArchiver(repository, layout);
        WalRequirement need;
        List<string> archived;
        try
        {
            archived = [.. (await repository.ListAsync(layout.WalPrefix, ct)).Select(o => layout.WalNameOf(o.Key)).OfType<string>()];
            need = WalRequirement.Of(backup, archived);
            await CheckContinuityAsync(backup, layout, archived, report, ct);
        }
        catch (PgWardenException e)
        {
            report.Fail(e.Message);
            return false;
        }
        var found = new List<(string Name, RepositoryObject Stat)>();
        var missing = new List<string>();
        foreach (var name in need.Files)
        {
            if (await repository.StatAsync(layout.WalKey(name), ct) is { } stat)
            {
                found.Add((name, stat));
            }
            else if (!need.OtherHistory.Contains(name))
            {
                missing.Add(name);
            }
        }
        if (missing.Count > 0)
        {
            report.Fail($"WAL file {missing[0]} needed by backup {backup.Id} is missing from the archive in {repository.Description}"
                        + (missing.Count > 1 ? $" (with {missing.Count - 1} more: {string.Join(", ", missing.Skip(1).Take(5))}{(missing.Count > 6 ? ", …" : "")})" : ""));
        }
        Directory.CreateDirectory(walDir);
        var ok = missing.Count == 0;
        var progress = Progress.For("  checking WAL", found.Sum(f => f.Stat.Size), output);
        try
        {
            foreach (var (name, stat) in found)
            {
                if (!stat.Metadata.ContainsKey(ObjectChecksum.Stored))
                {
                    report.Note($"archived {name} has no recorded SHA-256 (only its content checksum and header were checked)");
                }
                byte[] content;
                try
                {
                    content = await archiver.ReadVerifiedAsync(stat.Key, name, stat.Metadata, ct);
                }
                catch (PgWardenException e)
                {
                    report.Fail(e.Message.Replace("; not restoring it", "", StringComparison.Ordinal));
                    ok = false;
                    continue;
                }
                finally
                {
                    progress.Add(stat.Size);
                }
                if (CheckHeader(backup, name, content) is { } problem)
                {
                    report.Fail(problem);
                    ok = false;
                    continue;
                }
                await File.WriteAllBytesAsync(Path.Combine(walDir, name), content, ct);
            }
        }
        finally
        {
            progress.Done();
        }
        if (ok)
        {
            var history = need.RequiredHistory is null ? "" : $" and {need.RequiredHistory}";
            var range = need.Segments.Count == 1 ? $"WAL segment {need.Segments[0]}" : $"{need.Segments.Count} WAL segments {need.Segments[0]} … {need.Segments[^1]}";
            report.Pass($"{range}{history} archived, checksums ok"
                        + (need.OtherHistory.Count > 0 ? $" (and {need.OtherHistory.Count} other history file{(need.OtherHistory.Count == 1 ? "" : "s")})" : ""));
            output($"  WAL: {report.Passed[^1]}");
        }
        return ok;
    }

    /// <summary>
    /// The archive after the backup must be continuous along the history recovery from it follows (the newest
    /// timeline's when the backup lies on it, else the backup's own): a missing segment with later WAL archived
    /// is where every recovery from this backup would stop, silently losing what was committed after it.
    /// A backup off the newest timeline's history is noted: it cannot restore the cluster as it runs now.
    /// </summary>
    private async Task CheckContinuityAsync(BackupManifest backup, RepositoryLayout layout, IReadOnlyList<string> archived, VerifyReport report, CancellationToken ct)
    {
        var timelines = await ArchivedTimelines.ReadAsync(repository, layout, ct);
        var newest = Math.Max(timelines.Newest, backup.Timeline);
        var path = TimelinePath.To(newest, timelines);
        var stop = backup.StopPosition();
        if (!path.Includes(backup.Timeline, stop))
        {
            report.Note($"backup {backup.Id} is not on the history of timeline {newest}, the newest in the archive: it restores only the branch timeline {newest} left, not the cluster as it runs now");
            path = TimelinePath.To(backup.Timeline, timelines);
        }
        if (ArchiveContinuity.FindGap(path, backup.Timeline, backup.StartPosition(), archived) is { } gap)
        {
            report.Fail($"{gap.Describe()}: every recovery from backup {backup.Id} stops at the hole, so nothing committed after it can be restored");
        }
    }

    /// <summary>A WAL file must be what its name says (<see cref="WalFileCheck"/>): null when it is.</summary>
    public static string? CheckHeader(BackupManifest backup, string name, ReadOnlySpan<byte> content) =>
        WalFileName.TryParse(name) is { } parsed && WalFileCheck.Problem(parsed, content, backup.SystemId) is { } problem
            ? $"archived {name} is not the WAL file of that name: {problem}"
            : null;
}
