namespace PgWarden.Backup.Repository;

/// <summary>
/// The one layout of every repository:
/// <c>&lt;cluster&gt;/&lt;system-id&gt;/wal/&lt;wal file name&gt;.zst</c> and
/// <c>&lt;cluster&gt;/&lt;system-id&gt;/backups/&lt;id&gt;/{manifest.json, data files}</c>.
/// </summary>
public sealed record RepositoryLayout(string Cluster, string SystemId)
{
    public string Root => $"{Cluster}/{SystemId}";

    public string WalPrefix => $"{Root}/wal/";

    public string WalKey(string walFileName) => $"{WalPrefix}{walFileName}.zst";

    /// <summary>The WAL file name of a key under <see cref="WalPrefix"/>; null for anything else.</summary>
    public string? WalNameOf(string key) =>
        key.StartsWith(WalPrefix, StringComparison.Ordinal) && key.EndsWith(".zst", StringComparison.Ordinal)
            ? key[WalPrefix.Length..^4]
            : null;

    /// <summary>
    /// Where a node's copy of a WAL file goes when the archive already holds a different copy of a
    /// timeline that a later archived timeline superseded: kept for inspection, out of recovery's way.
    /// </summary>
    public string DivergedWalKey(string walFileName, string contentSha256) => $"{Root}/wal-diverged/{walFileName}.{contentSha256[..16]}.zst";

    public string BackupsPrefix => $"{Root}/backups/";

    public string BackupPrefix(string id) => $"{BackupsPrefix}{id}/";

    public string ManifestKey(string id) => $"{BackupPrefix(id)}manifest.json";

    public string BackupFileKey(string id, string file) => $"{BackupPrefix(id)}{file}";

    /// <summary>Cluster-wide state (e.g. last scheduled runs), independent of the system identifier.</summary>
    public static string StateKey(string cluster, string name) => $"{cluster}/state/{name}";
}
