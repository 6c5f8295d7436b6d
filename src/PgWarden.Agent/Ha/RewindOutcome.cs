namespace PgWarden.Agent.Ha;

/// <summary>How a pg_rewind run ended: succeeded, or failed transiently (worth retrying) or for good.</summary>
public sealed record RewindOutcome(bool Succeeded, bool Transient, string Detail)
{
    /// <summary>
    /// Failures worth retrying: the source could not be reached or dropped the connection (a
    /// restarting leader, a network blip). Anything else (no common ancestor, another system,
    /// missing WAL that the archive does not have) needs a re-clone.
    /// </summary>
    public static bool LooksTransient(string output) =>
        new[]
        {
            "could not connect", "Connection refused", "connection to server", "timeout expired", "server closed the connection",
            "the database system is starting up", "the database system is shutting down", "no route to host", "could not receive data",
            "could not send data", "SSL SYSCALL",
        }.Any(s => output.Contains(s, StringComparison.OrdinalIgnoreCase));
}
