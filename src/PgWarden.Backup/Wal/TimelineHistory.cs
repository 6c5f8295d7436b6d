using System.Globalization;
using PgWarden.Core.Ha;

namespace PgWarden.Backup.Wal;

/// <summary>
/// A timeline's history file (TTTTTTTT.history): one line per ancestor, "parentTLI switchpoint reason",
/// oldest first — the ancestor timeline was left at that LSN. Used to tell whether a backup, or a WAL
/// position, lies on the way to a timeline.
/// </summary>
public sealed record TimelineHistory(uint Timeline, IReadOnlyList<(uint Parent, ulong SwitchPoint)> Ancestors)
{
    /// <summary>Parses a history file; lines that are blank or comments ('#') are skipped, malformed ones throw <see cref="FormatException"/>.</summary>
    public static TimelineHistory Parse(uint timeline, string text)
    {
        var ancestors = new List<(uint, ulong)>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var parts = line.Split((char[])['\t', ' '], 3, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
            {
                throw new FormatException($"timeline history {timeline:X8}.history has a malformed line: '{line}'");
            }
            ancestors.Add((parent, (ulong)Lsn.Parse(parts[1])));
        }
        return new TimelineHistory(timeline, ancestors);
    }

    /// <summary>True when WAL position <paramref name="lsn"/> of timeline <paramref name="tli"/> is on the way to this timeline.</summary>
    public bool Includes(uint tli, ulong lsn) =>
        tli == Timeline || Ancestors.Any(a => a.Parent == tli && lsn <= a.SwitchPoint);

    /// <summary>Where this history left <paramref name="tli"/>, or null when it is not an ancestor.</summary>
    public ulong? SwitchPointOf(uint tli) => Ancestors.Where(a => a.Parent == tli).Select(a => (ulong?)a.SwitchPoint).FirstOrDefault();
}
