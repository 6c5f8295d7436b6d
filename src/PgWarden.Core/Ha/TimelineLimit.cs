using System.Globalization;
using PgWarden.Core.Config;

namespace PgWarden.Core.Ha;

/// <summary>
/// The newest timeline a node may follow from the archive: its leader's (or, without one, its own).
/// The agent keeps it in <c>&lt;node home&gt;/timeline-limit</c>; `wal-fetch` (restore_command) does not
/// hand out a <c>.history</c> file of a newer timeline, so a node never follows a timeline its
/// leader is not on — a stale node restarted alone stays on its own, and clones of a leader never
/// jump to another history found in a shared archive.
/// </summary>
public static class TimelineLimit
{
    public const string FileName = "timeline-limit";

    public static string PathFor(ClusterConfig cluster, NodeConfig node) => Path.Combine(node.HomeDir(cluster), FileName);

    /// <summary>The limit recorded for the node whose data directory is <paramref name="dataDir"/>; null when none is (not a node of this cluster, or no limit yet).</summary>
    public static long? Read(ClusterConfig cluster, string dataDir)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDir));
        var node = cluster.Nodes.FirstOrDefault(n => Path.TrimEndingDirectorySeparator(Path.GetFullPath(n.DataDir)) == full);
        if (node is null)
        {
            return null;
        }
        try
        {
            return long.TryParse(File.ReadAllText(PathFor(cluster, node)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var limit) ? limit : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether a restore_command request for <paramref name="fileName"/> is beyond <paramref name="limit"/> (only timeline history files are limited).</summary>
    public static bool Refuses(string fileName, long? limit) =>
        limit is { } max && fileName.Length == 16 && fileName.EndsWith(".history", StringComparison.Ordinal)
        && long.TryParse(fileName.AsSpan(0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var timeline) && timeline > max;
}
