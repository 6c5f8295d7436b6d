using System.CommandLine;
using PgWarden.Core.Api;
using Spectre.Console;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// `--json` for one command run: from <see cref="Begin"/> on, everything the command writes to the console
/// (Console.Out and AnsiConsole: progress, notes, tables) goes to stderr, and stdout gets exactly one
/// <see cref="CommandEnvelope"/> when the command ends — its result (<see cref="Result"/>) or its error.
/// </summary>
public sealed class JsonOutput
{
    private readonly TextWriter _stdout;
    private bool _written;

    private JsonOutput(string command, TextWriter stdout)
    {
        Command = command;
        _stdout = stdout;
    }

    /// <summary>The command path, e.g. <c>backup list</c>.</summary>
    public string Command { get; }

    /// <summary>The result the envelope carries; set by <see cref="Result"/>, kept in a failure envelope too (e.g. a failed verification's checks).</summary>
    public object? Data { get; set; }

    /// <summary>The run in progress when its command line has --json (one command per process), else null.</summary>
    public static JsonOutput? Current { get; private set; }

    /// <summary>True when the command has a --json option and it was given.</summary>
    public static bool Requested(ParseResult parse) =>
        parse.CommandResult.Command.Options.OfType<Option<bool>>().FirstOrDefault(o => o.Name == "--json") is { } json && parse.GetValue(json);

    /// <summary>"backup list" for `pgwarden backup list …`: the command names from the root down, without the program.</summary>
    public static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, r.Command.Name);
        }
        return string.Join(' ', names);
    }

    /// <summary>Starts JSON mode when --json was given: console output moves to stderr, stdout is kept for the envelope.</summary>
    public static JsonOutput? Begin(ParseResult parse)
    {
        if (!Requested(parse))
        {
            return null;
        }
        var output = new JsonOutput(CommandPath(parse), Console.Out);
        Console.SetOut(Console.Error);
        AnsiConsole.Console = StderrConsole();
        Current = output;
        return output;
    }

    /// <summary>A Spectre console on stderr: plain (no colours, 240 columns) when stderr is not a terminal.</summary>
    public static IAnsiConsole StderrConsole()
    {
        if (!Console.IsErrorRedirected)
        {
            return AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 240;
        return console;
    }

    /// <summary>Records <paramref name="data"/> as the command's result when --json was given; returns <paramref name="exitCode"/>.</summary>
    public static int Result(int exitCode, object data)
    {
        if (Current is { } json)
        {
            json.Data = data;
        }
        return exitCode;
    }

    /// <summary>Prints the result envelope (once).</summary>
    public void Complete(int exitCode) => Write(CommandEnvelope.Result(Command, exitCode, Data));

    /// <summary>Prints the error envelope (once), with any result recorded before the error.</summary>
    public void Fail(int exitCode, string message) => Write(CommandEnvelope.Failure(Command, exitCode == 0 ? Core.Errors.ExitCodes.OperationFailed : exitCode, message, Data));

    /// <summary>The error envelope of a command line that did not parse, when it has --json among its tokens.</summary>
    public static void WriteParseError(ParseResult parse, int exitCode, string message)
    {
        if (parse.Tokens.Any(t => t.Value == "--json"))
        {
            Console.Out.WriteLine(CommandEnvelope.Failure(CommandPath(parse), exitCode, message).ToJson());
        }
    }

    private void Write(CommandEnvelope envelope)
    {
        if (_written)
        {
            return;
        }
        _written = true;
        _stdout.WriteLine(envelope.ToJson());
        _stdout.Flush();
    }
}
