namespace PgWarden.Backup.Physical;

/// <summary>
/// Where a physical restore puts tablespaces and whether it may clear an interrupted restore:
/// <see cref="TablespaceMapping"/> maps a tablespace's location at backup time to a new directory;
/// unmapped tablespaces go inside the restored data directory (pg_tblspc/&lt;oid&gt;) when
/// <see cref="InPlaceTablespaces"/>, else back to their original location.
/// </summary>
public sealed record RestoreOptions(IReadOnlyDictionary<string, string> TablespaceMapping, bool Force, bool InPlaceTablespaces = true)
{
    public static readonly RestoreOptions Default = new(new Dictionary<string, string>(), Force: false);
}
