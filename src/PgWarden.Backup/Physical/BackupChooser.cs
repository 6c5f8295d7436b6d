using PgWarden.Backup.Catalog;
using PgWarden.Backup.Wal;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Backup.Physical;

/// <summary>
/// Which physical backup a point-in-time recovery starts from, and which timeline it follows, as a pure
/// function of the catalog and the archive's timeline histories. Recovery follows the newest archived
/// timeline; a backup is usable only when it lies on that timeline's history (its timeline is that one,
/// or an ancestor left after the backup's stop LSN) — a backup of an abandoned branch never is.
/// Among the usable ones: the newest that ended before the target (time or LSN).
/// </summary>
public static class BackupChooser
{
    public sealed record Choice(BackupManifest Backup, uint Timeline);

    public static Choice Choose(IReadOnlyList<BackupManifest> physical, ArchivedTimelines timelines, RecoveryTarget target, string? id)
    {
        var timeline = Math.Max(timelines.Newest, physical.Count == 0 ? 1 : physical.Max(b => b.Timeline));
        var history = timelines.Histories.GetValueOrDefault(timeline);
        bool OnHistory(BackupManifest b) =>
            b.Timeline == timeline || (history is not null && b.StopLsn is { } stop && history.Includes(b.Timeline, Lsn.Parse(stop)));
        if (id is not null)
        {
            var named = physical.FirstOrDefault(b => b.Id == id) ?? throw new PgWardenException(ExitCodes.NotFound,
                $"backup {id} is not a physical backup in the repository (physical backups: {(physical.Count == 0 ? "none" : string.Join(", ", physical.Select(b => b.Id)))})");
            return OnHistory(named) ? new Choice(named, timeline)
                : throw new PgWardenException(ExitCodes.UnsafeRefused,
                    $"backup {id} (timeline {named.Timeline}, up to {named.StopLsn}) is not on the history of timeline {timeline}, the newest in the archive"
                    + (history?.SwitchPoint(named.Timeline) is { } sp ? $": timeline {timeline} left timeline {named.Timeline} at {Lsn.Format(sp)}, before the backup ended" : "")
                    + "; recovering from it would replay an abandoned branch (choose another backup)");
        }
        var usable = physical.Where(OnHistory).ToList();
        if (usable.Count == 0)
        {
            throw new PgWardenException(ExitCodes.NotFound, physical.Count == 0
                ? "there is no physical backup in the repository; take one with `pgwarden backup physical`"
                : $"no physical backup lies on the history of timeline {timeline}, the newest in the archive (take a new one with `pgwarden backup physical`)");
        }
        var suitable = usable.Where(b =>
            (target.Time is not { } t || b.StopTime <= t) &&
            (target.Lsn is not { } l || b.StopLsn is null || Lsn.Parse(b.StopLsn) <= Lsn.Parse(l))).ToList();
        // None suitable: the oldest usable, so the refusal names the recoverable range.
        return new Choice(suitable.Count > 0 ? suitable[^1] : usable[0], timeline);
    }
}
