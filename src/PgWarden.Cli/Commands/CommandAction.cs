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
        command.SetAction((parse, ct) => RunAsync(c => body(parse, c), ct));
    }

    /// <summary>
    /// Like <see cref="Set"/> for a monitoring check: every error — unreachable cluster, bad command line,
    /// bad configuration — exits <see cref="CheckExitCodes.Unknown"/> (Nagios' UNKNOWN), never CRITICAL.
    /// </summary>
    public static void SetNagios(Command command, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        NagiosCommands.Add(command);
        command.SetAction((parse, ct) => RunAsync(c => body(parse, c), ct, _ => CheckExitCodes.Unknown));
    }

    /// <summary>Runs <paramref name="body"/>, mapping errors to one line on stderr and an exit code.</summary>
    /// <param name="errorExitCode">Maps the error's exit code for commands with their own convention (check); default: unchanged.</param>
    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken ct, Func<int, int>? errorExitCode = null)
    {
        try
        {
            return await body(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("pgwarden: interrupted");
            return errorExitCode?.Invoke(ExitCodes.Interrupted) ?? ExitCodes.Interrupted;
        }
        catch (Exception e) when (e is PgWardenException || Environment.GetEnvironmentVariable("PGWARDEN_DEBUG") != "1")
        {
            var (code, message) = ErrorTranslator.Translate(e);
            Console.Error.WriteLine($"pgwarden: error: {message}");
            return errorExitCode?.Invoke(code) ?? code;
        }
    }

    /// <summary>
    /// Prints the first error of a command line that did not parse as one line (with a suggestion for a
    /// mistyped command) and returns its exit code: <see cref="ExitCodes.Usage"/>, or UNKNOWN for `check`.
    /// </summary>
    public static int ReportParseErrors(ParseResult parse)
    {
        Console.Error.WriteLine($"pgwarden: error: {ParseErrorText.Describe(parse)}");
        return NagiosCommands.Contains(parse.CommandResult.Command) ? CheckExitCodes.Unknown : ExitCodes.Usage;
    }

    public static Option<string?> ConfigOption() => new("--config", "-c") { Description = "cluster configuration file (YAML)" };

    public static Option<string?> DirOption() => new("--dir") { Description = $"cluster directory holding cluster.yaml (default {Runtime.ClusterLocator.DefaultDir})" };

    public static Option<bool> JsonOption() => new("--json") { Description = "machine-readable output" };

    public static Option<bool> YesOption(string what) => new("--yes", "-y") { Description = $"{what} without asking (needed when there is no terminal to ask on)" };
}
