using PgWarden.Core.Backups;
using PgWarden.Core.Ha;

namespace PgWarden.Monitoring.Checks;

/// <summary>
/// What the checklist looks at besides SQL on the primary: every node's status (from the agents),
/// where to keep the database-size history for capacity planning, and the primary's data directory
/// when it is on this host (for free disk space), and the backup catalog.
/// </summary>
public sealed record ChecklistContext(
    IReadOnlyDictionary<string, NodeStatus?> Nodes,
    string SizeHistoryFile,
    string? LocalDataDir,
    CheckThresholds Thresholds,
    DateTimeOffset Now)
{
    /// <summary>The backup repository's catalog (null: the cluster has no backup section).</summary>
    public BackupCatalogSummary? Backups { get; init; }
}
