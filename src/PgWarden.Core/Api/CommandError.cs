namespace PgWarden.Core.Api;

/// <summary>The error of a <see cref="CommandEnvelope"/>: the one line printed on stderr (without "pgwarden: error: ") and the exit code.</summary>
public sealed record CommandError(string Message, int ExitCode);
