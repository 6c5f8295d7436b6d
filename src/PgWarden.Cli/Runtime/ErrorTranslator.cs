using System.Net.Http;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Npgsql;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// Turns any exception that reaches the command line into one line for the user and a named exit code
/// (the README's table). PgWarden's own errors keep their message and code; the errors of the
/// libraries underneath are translated into what they mean — never a .NET type name or a stack trace.
/// </summary>
public static partial class ErrorTranslator
{
    /// <summary>The exit code and the one line (without the "pgwarden: error: " prefix) for <paramref name="error"/>.</summary>
    public static (int ExitCode, string Message) Translate(Exception error)
    {
        var (code, message) = Describe(Unwrap(error));
        return (code, OneLine(message));
    }

    /// <summary><paramref name="text"/> on one line: its lines trimmed and joined with "; ".</summary>
    public static string OneLine(string text) =>
        string.Join("; ", text.Split('\n').Select(l => l.Trim().TrimEnd('.')).Where(l => l.Length > 0));

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerExceptions.Count: > 0 } a ? Unwrap(a.InnerExceptions[0]) : e;

    private static (int, string) Describe(Exception e) => e switch
    {
        PgWardenException { InnerException: { } inner } p when inner is not PgWardenException && p.Message.Contains(inner.Message, StringComparison.Ordinal) =>
            (p.ExitCode, p.Message.Replace(inner.Message, InContext(inner), StringComparison.Ordinal)),
        PgWardenException p => (p.ExitCode, p.Message),
        PostgresException p => (PostgresExitCode(p.SqlState), PostgresText(p)),
        NpgsqlException { InnerException: SocketException or TimeoutException } n =>
            (ExitCodes.NotRunning, $"cannot connect to PostgreSQL: {n.InnerException!.Message}"),
        NpgsqlException n => (ExitCodes.OperationFailed, $"PostgreSQL connection failed: {n.Message}"),
        HttpRequestException h => (ExitCodes.NotRunning, $"no answer from the agent: {h.Message}"),
        DcsUnavailableException d => (ExitCodes.NotRunning, $"the DCS (etcd) cannot be reached: {d.Message}"),
        TimeoutException t => (ExitCodes.Timeout, t.Message),
        IOException io when IsDiskFull(io) => (ExitCodes.OperationFailed, DiskFull(io)),
        FileNotFoundException f => (ExitCodes.NotFound, f.FileName is { } name ? $"{name} does not exist" : f.Message),
        DirectoryNotFoundException d => (ExitCodes.NotFound, d.Message),
        UnauthorizedAccessException u => (ExitCodes.OperationFailed, $"permission denied: {u.Message}"),
        IOException io => (ExitCodes.OperationFailed, io.Message),
        _ => (ExitCodes.OperationFailed, $"{UnexpectedPrefix}{e.Message}{DebugHint}"),
    };

    /// <summary>
    /// A library error quoted inside PgWarden's context ("while restoring …: 3D000: database …"): its translation,
    /// without the "unexpected" wording — the context already says what was being done.
    /// </summary>
    private static string InContext(Exception inner)
    {
        var (_, text) = Describe(Unwrap(inner));
        return text.Replace(UnexpectedPrefix, "", StringComparison.Ordinal).Replace(DebugHint, "", StringComparison.Ordinal);
    }

    private const string UnexpectedPrefix = "unexpected error: ";
    private const string DebugHint = " (set PGWARDEN_DEBUG=1 for details)";

    /// <summary>A missing database, table or object is "not found"; a server shutting down or starting is "not running".</summary>
    private static int PostgresExitCode(string sqlState) => sqlState switch
    {
        "3D000" or "42P01" or "42704" or "3F000" or "42883" => ExitCodes.NotFound,
        "57P01" or "57P02" or "57P03" => ExitCodes.NotRunning,
        "28P01" or "28000" => ExitCodes.ConfigError,
        _ => ExitCodes.OperationFailed,
    };

    private static string PostgresText(PostgresException p) =>
        p.MessageText + (p.Hint is { Length: > 0 } hint ? $" ({hint})" : "");

    /// <summary>ENOSPC (errno 28) or its text: the disk holding the file is full.</summary>
    private static bool IsDiskFull(IOException io) =>
        io.HResult == 28 || io.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase);

    private static string DiskFull(IOException io)
    {
        var path = QuotedPath().Match(io.Message) is { Success: true } m ? m.Groups[1].Value : null;
        var where = path is null ? "" : $" writing {path}";
        var filesystem = path is null ? "the filesystem it writes to" : $"the filesystem of {Path.GetDirectoryName(path) ?? path}";
        return $"no space left on device{where}: free space on {filesystem} (`df -h`, `pgwarden diagnose disk`) and run the command again";
    }

    [GeneratedRegex("'(/[^']*)'")]
    private static partial Regex QuotedPath();
}
