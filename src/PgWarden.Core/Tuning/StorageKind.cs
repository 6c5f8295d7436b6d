namespace PgWarden.Core.Tuning;

public enum StorageKind
{
    Ssd,
    Hdd,
    San,
}
