namespace PgWarden.Core.Errors;

/// <summary>
/// Named process exit codes shared by every command — one meaning per number, the table in the README
/// ("Exit codes"). `check` alone follows the Nagios convention instead (<see cref="CheckExitCodes"/>).
/// </summary>
public static class ExitCodes
{
    /// <summary>Done; `status`: healthy.</summary>
    public const int Ok = 0;

    /// <summary>`status` found the cluster degraded; `wal-fetch`: the file is not archived (PostgreSQL's restore_command convention).</summary>
    public const int Degraded = 1;

    /// <summary>Bad command line: an unknown command or option, a missing argument, a malformed or out-of-range value, options that do not go together.</summary>
    public const int Usage = 2;

    /// <summary>The configuration (or secrets, credentials) file is missing, unreadable or invalid.</summary>
    public const int ConfigError = 3;

    /// <summary>Nothing to do: it already runs (a second agent, a backup while another runs, `up` of a running cluster).</summary>
    public const int AlreadyRunning = 4;

    /// <summary>A port the command needs is taken by another process.</summary>
    public const int PortInUse = 5;

    /// <summary>A program or package it needs is not installed.</summary>
    public const int MissingDependency = 6;

    /// <summary>Refused as unsafe, or a disruptive command was not confirmed (on a terminal, or with --yes).</summary>
    public const int UnsafeRefused = 7;

    /// <summary>The cluster, the node or the process it needs is not running or cannot be reached.</summary>
    public const int NotRunning = 8;

    /// <summary>It did not complete within its deadline.</summary>
    public const int Timeout = 9;

    /// <summary>The operation was tried and failed (the line says what broke); also any unexpected error.</summary>
    public const int OperationFailed = 10;

    /// <summary>What the command line names does not exist: a node, pooler, report, table, index, backup or directory.</summary>
    public const int NotFound = 11;

    /// <summary>
    /// wal-fetch --abort-on-damage found the archived file damaged or unverifiable: PostgreSQL reads an exit
    /// status above 125 from restore_command as fatal and aborts recovery (any lower one means "not archived").
    /// </summary>
    public const int AbortRecovery = 126;

    /// <summary>Interrupted by Ctrl+C or SIGTERM (128 + SIGINT, the shell's convention).</summary>
    public const int Interrupted = 130;
}
