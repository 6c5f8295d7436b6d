using System.Globalization;

namespace PgWarden.Cli.Runtime;

/// <summary>The text forms of a long command's phases (see <see cref="PhaseProgress"/>).</summary>
public static class PhaseLine
{
    /// <summary>A phase as a plain stderr line (no terminal): <c>pgwarden: [12.3 s] text</c>, the time since the command started.</summary>
    public static string Plain(TimeSpan sinceStart, string text) => $"pgwarden: [{Seconds(sinceStart)} s] {text}";

    /// <summary>A finished phase on a terminal: <c>✓ text (1.2 s)</c>, the time the phase took.</summary>
    public static string Done(string text, TimeSpan took) => $"✓ {text} ({Seconds(took)} s)";

    /// <summary>The animated status line on a terminal: <c>text (12 s)</c>, the time the phase has run.</summary>
    public static string Running(string text, TimeSpan running) => $"{text} ({running.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s)";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
}
