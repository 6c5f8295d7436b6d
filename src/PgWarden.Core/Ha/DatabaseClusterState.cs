namespace PgWarden.Core.Ha;

/// <summary>pg_control's "Database cluster state" (PostgreSQL's DBState).</summary>
public enum DatabaseClusterState
{
    Unknown,
    Starting,
    ShutDown,
    ShutDownInRecovery,
    ShuttingDown,
    InCrashRecovery,
    InArchiveRecovery,
    InProduction,
}
