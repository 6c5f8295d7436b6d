namespace PgWarden.Backup.Catalog;

/// <summary>
/// Files under a backup id with no manifest: a backup that is running (<see cref="Running"/>: its
/// repository lock names it) or that failed or was killed before it completed. Never restored;
/// `backup prune` removes those that are not running.
/// </summary>
public sealed record IncompleteBackup(string SystemId, string Id, int Files, long StoredSize, DateTimeOffset LastModified, bool Running)
{
    /// <summary>physical or logical, from the id's suffix.</summary>
    public string Type => Id.EndsWith("-physical", StringComparison.Ordinal) ? "physical" : Id.EndsWith("-logical", StringComparison.Ordinal) ? "logical" : "unknown";
}
