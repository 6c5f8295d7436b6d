using PgWarden.Core.Ha;
using PgWarden.Backup.Repository;

namespace PgWarden.Backup.Wal;

/// <summary>
/// The timelines of a database system's archive: every history file (parsed) and the highest timeline
/// any archived file belongs to — history, segment, .partial or backup history.
/// </summary>
public sealed record ArchivedTimelines(IReadOnlyDictionary<uint, TimelineHistory> Histories, uint HighestTimeline)
{
    /// <summary>An archive with no history file (a single timeline 1).</summary>
    public static ArchivedTimelines None { get; } = new(new Dictionary<uint, TimelineHistory>(), 1);

    /// <summary>The newest timeline with a history file, else 1: what recovery to "the end of the archive" follows.</summary>
    public uint Newest => Histories.Count == 0 ? 1 : Histories.Keys.Max();

    /// <summary>Timelines above <paramref name="from"/> up to <see cref="HighestTimeline"/> that have archived WAL but no history file.</summary>
    public IReadOnlyList<uint> WithoutHistory(uint from)
    {
        var result = new List<uint>();
        for (var tli = from + 1; tli <= HighestTimeline && tli > from; tli++)
        {
            if (!Histories.ContainsKey(tli))
            {
                result.Add(tli);
            }
        }
        return result;
    }

    /// <summary>Lists the archive and reads every history file (checksums verified; one that does not parse is named in an error).</summary>
    public static async Task<ArchivedTimelines> ReadAsync(IBackupRepository repository, RepositoryLayout layout, CancellationToken ct)
    {
        var names = (await repository.ListAsync(layout.WalPrefix, ct)).Select(o => layout.WalNameOf(o.Key)).OfType<string>()
            .Select(WalFileName.TryParse).OfType<WalFileName>().ToList();
        var archiver = new WalArchiver(repository, layout);
        var histories = new Dictionary<uint, TimelineHistory>();
        foreach (var h in names.Where(n => n.Kind == WalFileKind.History))
        {
            var stat = await repository.StatAsync(layout.WalKey(h.Name), ct);
            if (stat is null)
            {
                continue;
            }
            var content = await archiver.ReadVerifiedAsync(stat.Key, h.Name, stat.Metadata, ct);
            if (WalFileCheck.HistoryProblem(h.Timeline, content) is { } problem)
            {
                throw new ArchivedFileDamagedException(
                    $"archived {h.Name} in {repository.Description} is not a timeline history ({problem}): recovery cannot follow timelines while it is there; move it out of {layout.WalPrefix} (no PostgreSQL wrote it)");
            }
            histories[h.Timeline] = TimelineHistory.Parse(h.Timeline, System.Text.Encoding.UTF8.GetString(content));
        }
        return new ArchivedTimelines(histories, names.Count == 0 ? 1 : names.Max(n => n.Timeline));
    }
}
