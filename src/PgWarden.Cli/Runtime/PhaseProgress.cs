using System.Diagnostics;
using Spectre.Console;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// Shows what a long command is doing, always on stderr so stdout keeps the result (and, with --json, only the
/// envelope). On a terminal: Spectre.Console's animated status line with the current phase and its time, each
/// finished phase left as a line (<see cref="PhaseLine.Done"/>). Otherwise (stderr redirected, a log, cron):
/// one plain line per phase (<see cref="PhaseLine.Plain"/>), nothing animated. Thread-safe.
/// </summary>
public sealed class PhaseProgress
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly IAnsiConsole? _console;
    private readonly Lock _lock = new();
    private StatusContext? _status;
    private string _phase = "";
    private TimeSpan _phaseStart;

    private PhaseProgress(IAnsiConsole? console)
    {
        _console = console;
    }

    /// <summary>
    /// Animated when stderr is a terminal and so is stdout (or --json was given): a pipe on stdout
    /// (<c>pgwarden restore … | tee</c>) gets its lines in order, not behind a spinner.
    /// </summary>
    public static bool Animated => !Console.IsErrorRedirected && (JsonOutput.Current is not null || !Console.IsOutputRedirected);

    /// <summary>Time since the command started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Runs <paramref name="work"/> with <paramref name="first"/> as its first phase.</summary>
    /// <param name="announcePlain">
    /// False for work that prints its own first line through <see cref="Note"/> (restore, verify): without a terminal
    /// the first phase then adds no line, so such a command's output and its one-line errors stay as they were.
    /// </param>
    public static async Task<T> RunAsync<T>(string first, Func<PhaseProgress, Task<T>> work, bool announcePlain = true)
    {
        if (!Animated)
        {
            var plain = new PhaseProgress(null);
            if (announcePlain)
            {
                plain.Phase(first);
            }
            return await work(plain);
        }
        var console = JsonOutput.StderrConsole();
        var result = default(T)!;
        await console.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(first), async ctx =>
        {
            var live = new PhaseProgress(console) { _status = ctx, _phase = first };
            Backup.Progress.Live = text => live.Update(text, print: false);
            try
            {
                result = await work(live);
            }
            finally
            {
                Backup.Progress.Live = null;
                live.EndPhase();
            }
        });
        return result;
    }

    /// <summary>A new phase begins (the previous one is done).</summary>
    public void Phase(string text)
    {
        lock (_lock)
        {
            if (_console is null)
            {
                Console.Error.WriteLine(PhaseLine.Plain(_clock.Elapsed, text));
                return;
            }
            EndPhase();
            _phase = text;
            _phaseStart = _clock.Elapsed;
            _status!.Status(Markup.Escape(PhaseLine.Running(text, TimeSpan.Zero)));
        }
    }

    /// <summary>
    /// News within the current phase (e.g. what it waits for): the status line on a terminal; a plain line
    /// only when <paramref name="print"/> (the caller decides how often a log gets one).
    /// </summary>
    public void Update(string text, bool print)
    {
        lock (_lock)
        {
            if (_console is null)
            {
                if (print)
                {
                    Console.Error.WriteLine(PhaseLine.Plain(_clock.Elapsed, text));
                }
                return;
            }
            _status!.Status(Markup.Escape(PhaseLine.Running(text, _clock.Elapsed - _phaseStart)));
        }
    }

    /// <summary>
    /// A line of the command's own output (what it reports, not progress): on Console.Out as before
    /// (stderr with --json); on a terminal printed above the status line so the animation stays intact,
    /// and shown on the status line as the current step.
    /// </summary>
    public void Note(string text)
    {
        lock (_lock)
        {
            if (_console is null || JsonOutput.Current is null && Console.IsOutputRedirected)
            {
                Console.WriteLine(text);
                return;
            }
            _console.WriteLine(text);
            // The newest step is also the status line, so a finished byte count does not stay on screen.
            _status!.Status(Markup.Escape(PhaseLine.Running(text.Trim(), _clock.Elapsed - _phaseStart)));
        }
    }

    private void EndPhase()
    {
        if (_console is not null && _phase.Length > 0)
        {
            _console.MarkupLine(Markup.Escape(PhaseLine.Done(_phase, _clock.Elapsed - _phaseStart)));
            _phase = "";
        }
    }
}
