namespace PgWarden.Core.Errors;

/// <summary>
/// An error meant for the user: <see cref="Exception.Message"/> is one complete sentence with its
/// context, and <see cref="ExitCode"/> is what the process exits with. The CLI never prints a stack
/// trace for these.
/// </summary>
public class PgWardenException : Exception
{
    public PgWardenException(int exitCode, string message, Exception? inner = null) : base(message, inner)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }

    /// <summary>Wraps an error with what was being done: "while cloning pg2 from pg1: …".</summary>
    public static PgWardenException While(string doing, Exception inner) => inner switch
    {
        PgWardenException p => new PgWardenException(p.ExitCode, $"while {doing}: {p.Message}", p),
        _ => new PgWardenException(ExitCodes.OperationFailed, $"while {doing}: {inner.Message}", inner),
    };
}
