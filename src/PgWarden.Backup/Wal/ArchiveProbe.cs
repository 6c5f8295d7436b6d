using System.Diagnostics;
using Npgsql;
using PgWarden.Backup.Repository;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Wal;

/// <summary>
/// `pgwarden check archive`, as pgBackRest's check: proves the WAL archive end to end. On the primary it
/// writes a WAL record and switches the segment; then waits until that segment is in the repository
/// and reads it back — both checksums (as wal-fetch does) and its page header (this database system,
/// this segment's address).
/// </summary>
public sealed class ArchiveProbe(IBackupRepository repository, RepositoryLayout layout, NpgsqlDataSource primary)
{
    /// <summary>A one-line summary; throws (exit 9 on timeout, 10 when the archived file is wrong) naming the segment.</summary>
    /// <param name="timeout">How long the segment may take to reach the archive.</param>
    public async Task<string> RunAsync(TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        string segment;
        await using (var conn = await primary.OpenConnectionAsync(ct))
        await using (var cmd = new NpgsqlCommand(
            "SELECT pg_walfile_name(pg_logical_emit_message(false, 'pgwarden', 'check archive') - 1); SELECT pg_switch_wal()", conn))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            // The segment holding the record just written (its last byte: an end LSN may sit on a segment boundary).
            await r.ReadAsync(ct);
            segment = r.GetString(0);
        }
        var key = layout.WalKey(segment);
        RepositoryObject? stat;
        while ((stat = await repository.StatAsync(key, ct)) is null)
        {
            if (clock.Elapsed > timeout)
            {
                throw new PgWardenException(ExitCodes.Timeout,
                    $"WAL segment {segment} was switched on the primary but did not reach {repository.Description} within {timeout.TotalSeconds:0} s: archive_command is failing or slow (see `pgwarden status` and pg_stat_archiver)");
            }
            await Task.Delay(200, ct);
        }
        var content = await new WalArchiver(repository, layout).ReadVerifiedAsync(key, segment, stat.Metadata, ct);
        if (WalFileCheck.Problem(WalFileName.TryParse(segment)!, content, layout.SystemId) is { } problem)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"archived {segment} in {repository.Description} is not this cluster's segment {segment}: {problem}");
        }
        return $"WAL segment {segment} archived to {repository.Description} and read back (checksums and page header ok) in {clock.Elapsed.TotalSeconds:0.0} s";
    }
}
