namespace PgWarden.Core.Config;

/// <summary>How the <c>backup.encryption</c> section was written.</summary>
public enum BackupEncryptionMode
{
    /// <summary>Section absent: encrypt with <see cref="BackupEncryptionSettings.KeyFile"/> when it exists (new clusters), store plain otherwise (clusters created before encryption existed).</summary>
    Default,

    /// <summary><c>key_file: PATH</c>: encrypt; the file must exist.</summary>
    KeyFile,

    /// <summary><c>encryption: none</c>: store plain, explicitly.</summary>
    None,
}

/// <summary>
/// The <c>backup.encryption</c> section: the master key file that wraps every stored file's data key
/// (AES-256-GCM, docs/backup-encryption.md). The key never sits in the repository or on a command line.
/// </summary>
public sealed record BackupEncryptionSettings(BackupEncryptionMode Mode, string? KeyFile)
{
    /// <summary>The default key file's name, next to the cluster's secrets.yaml.</summary>
    public const string DefaultKeyFileName = "backup.key";

    /// <summary>Whether stored files are (to be) encrypted with this configuration.</summary>
    public bool Enabled => Mode switch
    {
        BackupEncryptionMode.KeyFile => true,
        BackupEncryptionMode.Default => KeyFile is not null && File.Exists(KeyFile),
        _ => false,
    };
}
