using PgWarden.Core.Ha;

namespace PgWarden.Monitoring.Checks;

/// <summary>
/// The daily "wal archiving" item: archiving must be on and no node's archiver may be failing — the
/// primary's (from its pg_stat_archiver) or any replica's (each agent reports its own node's; with
/// archive_mode = always replicas archive too, and a stuck one piles up WAL just the same).
/// </summary>
public static class ArchivingChecks
{
    /// <param name="mode">The primary's archive_mode.</param>
    /// <param name="primaryFailing">The primary's last archive attempt failed (after its last success).</param>
    /// <param name="primaryFailures">The primary's failed_count.</param>
    /// <param name="nodes">Every node's status from its agent (null: no answer).</param>
    public static CheckResult WalArchiving(string mode, bool primaryFailing, long primaryFailures, IReadOnlyDictionary<string, NodeStatus?> nodes)
    {
        const string name = "wal archiving";
        if (mode == "off")
        {
            return CheckResult.Warn(name, "archive_mode is off: no continuous archive, so no point-in-time recovery");
        }
        var failing = nodes.Where(n => n.Value?.ArchiveFailure is not null).OrderBy(n => n.Key, StringComparer.Ordinal)
            .Select(n => $"{n.Key}: {n.Value!.ArchiveFailure}").ToList();
        if (failing.Count > 0)
        {
            return CheckResult.Fail(name, string.Join("; ", failing));
        }
        return primaryFailing
            ? CheckResult.Fail(name, $"the primary's last archive attempt failed ({primaryFailures} failures so far)")
            : CheckResult.Ok(name, $"archiving on every node, {primaryFailures} failures so far on the primary");
    }
}
