using System.Text.Json;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;

namespace PgWarden.Backup.Logical;

/// <summary>
/// data/index.json of a logical backup: which slices of which tables were dumped outside pg_dump
/// (pg_dump got --exclude-table-data for them) and in which client encoding the COPY text is.
/// Restore loads them between pg_restore's data and post-data sections.
/// </summary>
public sealed record TableDataIndex(string Encoding, IReadOnlyList<TableChunk> Chunks)
{
    public const string FileName = "data/index.json.zst";

    public string ToJson() => JsonSerializer.Serialize(this, Catalog.BackupManifest.Json);

    public static TableDataIndex Parse(string json) =>
        JsonSerializer.Deserialize<TableDataIndex>(json, Catalog.BackupManifest.Json) ?? throw new JsonException("data/index.json is empty");

    /// <summary>Reads a backup's index (both checksums verified).</summary>
    public static async Task<TableDataIndex> ReadAsync(IBackupRepository repository, RepositoryLayout layout, BackupManifest backup, BackupFile file, CancellationToken ct)
    {
        var json = new MemoryStream();
        await BackupFileStore.ReadVerifiedAsync(repository, layout.BackupFileKey(backup.Id, file.Name), file, s => s.CopyToAsync(json, ct), null, ct);
        return Parse(System.Text.Encoding.UTF8.GetString(json.ToArray()));
    }
}
