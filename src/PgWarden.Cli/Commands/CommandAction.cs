using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;

namespace PgWarden.Cli.Commands;

/// <summary>
/// The one place where a command's errors become one line on stderr and a named exit code
/// (<see cref="ErrorTranslator"/>), for errors of the command line (<see cref="ReportParseErrors"/>)
/// and of the command's body alike.
/// </summary>
public static class CommandAction
{
    private static readonly HashSet<Command> NagiosCommands = [];

    /// <summary>Sets <paramref name="body"/> as the action of <paramref name="command"/>, errors reported by <see cref="RunAsync"/>.</summary>
    public static void Set(Command command, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        command.SetAction((parse, ct) => RunAsync(c => body(parse, c), ct, json: JsonOutput.Begin(parse)));
    }

    /// <summary>
    /// Like <see cref="Set"/> for a monitoring check: every error — unreachable cluster, bad command line,
    /// bad configuration — exits <see cref="CheckExitCodes.Unknown"/> (Nagios' UNKNOWN), never CRITICAL.
    /// </summary>
    public static void SetNagios(Command command, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        NagiosCommands.Add(command);
        command.SetAction((parse, ct) => RunAsync(c => body(parse, c), ct, _ => CheckExitCodes.Unknown, JsonOutput.Begin(parse)));
    }

    /// <summary>Runs <paramref name="body"/>, mapping errors to one line on stderr and an exit code.</summary>
    /// <param name="errorExitCode">Maps the error's exit code for commands with their own convention (check); default: unchanged.</param>
    /// <param name="json">With --json: the envelope printed on stdout when the command ends, whichever way (see <see cref="JsonOutput"/>).</param>
    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken ct, Func<int, int>? errorExitCode = null, JsonOutput? json = null)
    {
        try
        {
            var exit = await body(ct);
            json?.Complete(exit);
            return exit;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("pgwarden: interrupted");
            var exit = errorExitCode?.Invoke(ExitCodes.Interrupted) ?? ExitCodes.Interrupted;
            json?.Fail(exit, "interrupted");
            return exit;
        }
        catch (Exception e) when (e is PgWardenException || Environment.GetEnvironmentVariable("PGWARDEN_DEBUG") != "1")
        {
            var (code, message) = ErrorTranslator.Translate(e);
            Console.Error.WriteLine($"pgwarden: error: {message}");
            var exit = errorExitCode?.Invoke(code) ?? code;
            json?.Fail(exit, message);
            return exit;
        }
    }

    /// <summary>
    /// Prints the first error of a command line that did not parse as one line (with a suggestion for a
    /// mistyped command) and returns its exit code: <see cref="ExitCodes.Usage"/>, or UNKNOWN for `check`.
    /// </summary>
    public static int ReportParseErrors(ParseResult parse)
    {
        var message = ParseErrorText.Describe(parse);
        Console.Error.WriteLine($"pgwarden: error: {message}");
        var exit = NagiosCommands.Contains(parse.CommandResult.Command) ? CheckExitCodes.Unknown : ExitCodes.Usage;
        JsonOutput.WriteParseError(parse, exit, message);
        return exit;
    }

    public static Option<string?> ConfigOption() => new("--config", "-c") { Description = "cluster configuration file (YAML)" };

    public static Option<string?> DirOption() => new("--dir") { Description = $"cluster directory holding cluster.yaml (default {Runtime.ClusterLocator.DefaultDir})" };

    public static Option<bool> JsonOption() => new("--json") { Description = "print one JSON document on stdout: {command, ok, exit_code, data, error} (progress and notes go to stderr)" };

    public static Option<bool> YesOption(string what) => new("--yes", "-y") { Description = $"{what} without asking (needed when there is no terminal to ask on)" };
}
