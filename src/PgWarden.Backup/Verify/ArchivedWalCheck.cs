using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;

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
        try
        {
            var archived = (await repository.ListAsync(layout.WalPrefix, ct)).Select(o => layout.WalNameOf(o.Key)).OfType<string>();
            need = WalRequirement.Of(backup, archived);
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

    /// <summary>A segment must start with a long page header of this system, for its own address; null when it does.</summary>
    public static string? CheckHeader(BackupManifest backup, string name, ReadOnlySpan<byte> content)
    {
        var parsed = WalFileName.TryParse(name);
        if (parsed is not { HasPageHeader: true })
        {
            return null;
        }
        if (WalHeader.TryParse(content) is not { } header)
        {
            return $"archived {name} does not start with a WAL page header";
        }
        if (header.SystemIdentifier.ToString() != backup.SystemId)
        {
            return $"archived {name} belongs to database system {header.SystemIdentifier}, not {backup.SystemId}";
        }
        if (header.SegmentSize != WalFileName.DefaultSegmentSize || header.PageAddress != parsed.SegmentNumber(header.SegmentSize) * header.SegmentSize)
        {
            return header.SegmentSize != WalFileName.DefaultSegmentSize
                ? $"archived {name} has WAL segment size {header.SegmentSize}; pgwarden's backups assume {WalFileName.DefaultSegmentSize}"
                : $"archived {name} holds the WAL of address {header.PageAddress:X}, not of its own segment";
        }
        return null;
    }
}
