namespace PgWarden.Core.Errors;

/// <summary>Named process exit codes shared by every command (documented in the README).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A check or status found the cluster degraded.</summary>
    public const int Degraded = 1;
    /// <summary>Status: the cluster cannot be reached. Also: invalid command-line usage.</summary>
    public const int Unreachable = 2;
    public const int ConfigError = 3;
    public const int AlreadyRunning = 4;
    public const int PortInUse = 5;
    public const int MissingDependency = 6;
    public const int UnsafeRefused = 7;
    public const int NotRunning = 8;
    public const int Timeout = 9;
    public const int OperationFailed = 10;
    /// <summary>
    /// wal-fetch --abort-on-damage found the archived file damaged or unverifiable: PostgreSQL reads an exit
    /// status above 125 from restore_command as fatal and aborts recovery (any lower one means "not archived").
    /// </summary>
    public const int AbortRecovery = 126;
}
