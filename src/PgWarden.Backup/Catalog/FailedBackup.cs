using PgWarden.Backup.Repository;

namespace PgWarden.Backup.Catalog;

/// <summary>What a backup does when it fails or is interrupted: it removes every file it wrote, so no half-written backup is left.</summary>
public static class FailedBackup
{
    /// <summary>Never throws (it runs while another error is on its way); uncancellable, so Ctrl-C still cleans up.</summary>
    public static async Task RemoveAsync(IBackupRepository repository, RepositoryLayout layout, string id, Action<string> output)
    {
        try
        {
            await repository.DeletePrefixAsync(layout.BackupPrefix(id), CancellationToken.None);
            output($"removed the incomplete backup {id} from {repository.Description}");
        }
        catch (Exception e)
        {
            output($"could not remove the incomplete backup {id} ({e.Message}); `pgwarden backup prune` removes it");
        }
    }
}
