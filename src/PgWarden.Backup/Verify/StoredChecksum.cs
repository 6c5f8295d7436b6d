using System.Security.Cryptography;
using PgWarden.Backup.Catalog;
using PgWarden.Backup.Repository;

namespace PgWarden.Backup.Verify;

/// <summary>Which stored files of a backup differ from the SHA-256 its manifest recorded (the raw objects, not decompressed).</summary>
public static class StoredChecksum
{
    public static async Task<IReadOnlyList<string>> DamagedFilesAsync(IBackupRepository repository, BackupManifest backup, CancellationToken ct)
    {
        var layout = new RepositoryLayout(backup.Cluster, backup.SystemId);
        var damaged = new List<string>();
        foreach (var file in backup.Files)
        {
            try
            {
                await using var stream = await repository.GetAsync(layout.BackupFileKey(backup.Id, file.Name), ct);
                var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
                if (sha != file.Sha256)
                {
                    damaged.Add(file.Name);
                }
            }
            catch (Exception e) when (e is FileNotFoundException or Repository.Encryption.EncryptedObjectException)
            {
                damaged.Add(file.Name);
            }
        }
        return damaged;
    }
}
