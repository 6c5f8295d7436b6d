namespace PgWarden.Backup.Repository.Encryption;

/// <summary>How far one run of <see cref="KeyRotation"/> goes (docs/backup-encryption.md, "Several hosts").</summary>
public enum RotationEnd
{
    /// <summary>All the way: the old key's wrappings and <c>KEY_FILE.old</c> are deleted (one host, or the last step of several).</summary>
    Complete,

    /// <summary><c>--prepare</c>: only <c>KEY_FILE.new</c> is written, to be copied to every host; the repository is not touched.</summary>
    NewKeyWritten,

    /// <summary><c>--keep-old</c>: every data key re-wrapped and the new key current here; the old wrappings and <c>KEY_FILE.old</c> stay.</summary>
    Switched,
}
