using Npgsql;
using PgWarden.Backup.Repository;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;

namespace PgWarden.Backup.Physical;

/// <summary>
/// Waits until every WAL segment a base backup needs is in the archive — whichever node archives it
/// (with archive_mode = always, the primary or a replica). A segment the primary is still writing is
/// finished on the primary: a small WAL record (so the switch is never a no-op on an idle primary),
/// then pg_switch_wal().
/// </summary>
public sealed class ArchiveWait(IBackupRepository repository, RepositoryLayout layout, NpgsqlDataSource primary)
{
    /// <summary>
    /// The segments from the one holding <paramref name="startLsn"/> up to and including the one holding
    /// <paramref name="stopLsn"/> itself. A backup taken from a replica often stops exactly at a segment
    /// boundary (the end of a replayed WAL switch); recovery to its end reads the record that starts
    /// there, so that next segment is needed too.
    /// </summary>
    public static IReadOnlyList<string> Segments(uint timeline, ulong startLsn, ulong stopLsn, long segmentSize = WalFileName.DefaultSegmentSize)
    {
        var first = startLsn / (ulong)segmentSize;
        var last = Math.Max(first, stopLsn / (ulong)segmentSize);
        var names = new List<string>();
        for (var seg = first; seg <= last; seg++)
        {
            names.Add(WalFileName.SegmentNameOf(timeline, seg, segmentSize));
        }
        return names;
    }

    /// <param name="wait">At most this long in all (positive).</param>
    public async Task RunAsync(IReadOnlyList<string> segments, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        foreach (var name in segments)
        {
            var needed = WalFileName.TryParse(name)!.SegmentNumber();
            var lastSwitch = DateTime.MinValue;
            while (!await repository.ExistsAsync(layout.WalKey(name), ct))
            {
                if (DateTime.UtcNow - lastSwitch > TimeSpan.FromSeconds(5))
                {
                    await FinishSegmentAsync(needed, ct);
                    lastSwitch = DateTime.UtcNow;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new PgWardenException(ExitCodes.Timeout,
                        $"WAL segment {name} needed by the backup was not archived within {wait.TotalSeconds:0} s (is archive_command failing? see `pgwarden status` and pg_stat_archiver); the backup is not usable without it and has no manifest");
                }
                await Task.Delay(200, ct);
            }
        }
    }

    /// <summary>When the primary still writes segment <paramref name="needed"/>, writes a record into it and switches to the next.</summary>
    private async Task FinishSegmentAsync(ulong needed, CancellationToken ct)
    {
        await using var conn = await primary.OpenConnectionAsync(ct);
        await using var current = new NpgsqlCommand("SELECT pg_walfile_name(pg_current_wal_insert_lsn())", conn);
        var name = (string)(await current.ExecuteScalarAsync(ct))!;
        if (WalFileName.TryParse(name)!.SegmentNumber() > needed)
        {
            return;
        }
        await using var finish = new NpgsqlCommand("SELECT pg_logical_emit_message(false, 'pgwarden', 'finish the segment a backup needs'); SELECT pg_switch_wal()", conn);
        await finish.ExecuteNonQueryAsync(ct);
    }
}
