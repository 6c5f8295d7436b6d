using System.Globalization;

namespace PgWarden.Core.Ha;

/// <summary>
/// The most WAL a rewound data directory can hold: the end of its source's WAL when pg_rewind finished
/// (pg_controldata's "Minimum recovery ending location" and its timeline right after the rewind). pg_rewind
/// copies only the source's files, and WAL the source wrote before it read that position, so the node holds
/// no commit beyond it — and none its source lacked. Until the node first reaches a consistent state it
/// cannot report a position itself (it accepts no connection); this bound stands in for it, so that
/// synchronous mode need not wait for it for ever (PostgreSQL docs, "pg_rewind": "the target is ... started
/// in archive recovery ... replays all the required WAL from the source"). <see cref="Position"/> is in bytes.
/// </summary>
public sealed record RewindBound(long Timeline, long Position)
{
    /// <summary>The file in the node's home directory that keeps the bound across agent restarts.</summary>
    public const string FileName = "rewind-bound";

    /// <summary>The file's text: "timeline LSN".</summary>
    public string Format() => $"{Timeline.ToString(CultureInfo.InvariantCulture)} {Lsn.Format(Position)}\n";

    /// <summary>Parses <see cref="Format"/>'s text; null for anything else (a damaged file counts as no bound, the safe side).</summary>
    public static RewindBound? Parse(string text)
    {
        var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var timeline) || timeline <= 0)
        {
            return null;
        }
        try
        {
            return Lsn.Parse(parts[1]) is var position and > 0 ? new RewindBound(timeline, position) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The bound file of <paramref name="node"/> (in its home directory).</summary>
    public static string PathFor(Config.ClusterConfig cluster, Config.NodeConfig node) => Path.Combine(node.HomeDir(cluster), FileName);

    /// <summary>
    /// The bound a successful pg_rewind leaves (its pg_controldata afterwards), or null when there is none to
    /// record: pg_rewind found nothing to do ("no rewind required" — the control file is untouched, and its
    /// minimum recovery point says nothing of what the node holds), or no minimum recovery point is set.
    /// </summary>
    public static RewindBound? AfterRewind(string rewindOutput, ControlData control) =>
        rewindOutput.Contains("no rewind required", StringComparison.Ordinal) || control.MinRecoveryEndLsn <= 0 || control.MinRecoveryEndTimeline <= 0
            ? null
            : new RewindBound(control.MinRecoveryEndTimeline, control.MinRecoveryEndLsn);

    /// <summary>Whether a node on <paramref name="timeline"/> at <paramref name="position"/> has every commit a node within this bound can hold.</summary>
    public bool CoveredBy(long timeline, long position) => timeline == Timeline && position >= Position;
}
