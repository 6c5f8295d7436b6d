using PgWarden.Core.Errors;
using Spectre.Console;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// The one way a disruptive command (switchover, failover, reinit, restore --cluster, kill, vacuum --full,
/// down --purge, a plain reindex) gets its go-ahead: `--yes`, or an answer on a terminal. Without a
/// terminal and without `--yes` it is refused up front — one line, exit 7 — before any work is done.
/// </summary>
public sealed class Confirmation
{
    private readonly bool _yes;
    private readonly string _what;

    private Confirmation(bool yes, string what)
    {
        _yes = yes;
        _what = what;
    }

    /// <summary>
    /// Starts the confirmation of <paramref name="what"/> (e.g. "switchover"); call it before any work.
    /// Refuses at once (exit 7) when neither <paramref name="yes"/> is set nor a terminal can answer.
    /// </summary>
    public static Confirmation For(string what, bool yes)
    {
        if (!yes && !CanAsk)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"{what} needs confirmation: add --yes to run it without a terminal");
        }
        return new Confirmation(yes, what);
    }

    /// <summary>True when a person can answer: standard input is a terminal and the console can prompt.</summary>
    public static bool CanAsk => !Console.IsInputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Asks <paramref name="question"/> (y/N) unless --yes was given; a "no" is refused with exit 7.</summary>
    public void Ask(string question)
    {
        if (_yes)
        {
            return;
        }
        if (!AnsiConsole.Confirm(Markup.Escape(question), defaultValue: false))
        {
            throw NotConfirmed();
        }
    }

    /// <summary>Asks the user to type <paramref name="expected"/> (e.g. the cluster's name) unless --yes was given.</summary>
    public void AskToType(string question, string expected)
    {
        if (_yes)
        {
            return;
        }
        var answer = AnsiConsole.Prompt(new TextPrompt<string>(Markup.Escape(question)).AllowEmpty());
        if (answer.Trim() != expected)
        {
            throw NotConfirmed();
        }
    }

    private PgWardenException NotConfirmed() => new(ExitCodes.UnsafeRefused, $"{_what} not confirmed; nothing changed (add --yes to run it without asking)");
}
