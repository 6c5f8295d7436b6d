using System.Text.Json;

namespace PgWarden.Core.Api;

/// <summary>
/// The one JSON document every `pgwarden COMMAND --json` prints on stdout, also when the command fails:
/// <c>{"command", "ok", "exit_code", "data", "error"}</c> in that order, snake_case names (<see cref="Json.Options"/>).
/// <see cref="Ok"/> is <c>exit_code == 0</c>; <see cref="Data"/> is the command's result (null when it failed
/// before it had one); <see cref="Error"/> is null unless the command ended with an error line on stderr,
/// and then carries the same message and exit code. Documented in README "Machine-readable output".
/// </summary>
/// <param name="Command">The command path without the program name, e.g. <c>backup list</c>.</param>
/// <param name="ExitCode">The process's exit code (README exit-code table; `check` uses the Nagios codes).</param>
public sealed record CommandEnvelope(string Command, bool Ok, int ExitCode, object? Data, CommandError? Error)
{
    /// <summary>A command that produced its result; <paramref name="exitCode"/> may still be non-zero (status degraded, check WARN).</summary>
    public static CommandEnvelope Result(string command, int exitCode, object? data) => new(command, exitCode == 0, exitCode, data, null);

    /// <summary>A command that ended with an error.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="exitCode"/> is 0: an error always exits non-zero.</exception>
    public static CommandEnvelope Failure(string command, int exitCode, string message, object? data = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(exitCode);
        return new(command, false, exitCode, data, new CommandError(message, exitCode));
    }

    /// <summary>The document as printed: indented JSON, snake_case keys in declaration order, enums as snake_case strings.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json.Options);
}
