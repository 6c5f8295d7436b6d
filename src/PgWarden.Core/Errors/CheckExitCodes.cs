namespace PgWarden.Core.Errors;

/// <summary>
/// The exit codes of `pgwarden check`, in the Nagios plugin convention that monitoring systems read:
/// anything that keeps the check from judging the cluster (it is unreachable, the command line or the
/// configuration is wrong) is UNKNOWN, never CRITICAL.
/// </summary>
public static class CheckExitCodes
{
    /// <summary>Every item is OK.</summary>
    public const int Ok = 0;

    /// <summary>At least one item is WARN, none FAIL.</summary>
    public const int Warning = 1;

    /// <summary>At least one item is FAIL.</summary>
    public const int Critical = 2;

    /// <summary>The check could not run: the cluster is unreachable, or the command line or configuration is wrong.</summary>
    public const int Unknown = 3;
}
