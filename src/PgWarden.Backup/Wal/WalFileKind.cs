namespace PgWarden.Backup.Wal;

public enum WalFileKind
{
    Segment,
    Partial,
    History,
    BackupHistory,
}
