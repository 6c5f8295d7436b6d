using System.Diagnostics;

namespace PgWarden.Backup;

/// <summary>
/// Reports bytes, rate, percentage and (when the total is known) ETA: to <see cref="Live"/> four times a second
/// while a terminal shows a live status line (the CLI's Spectre.Console status, see PgWarden.Cli PhaseProgress),
/// else a plain line through the caller's output every 5 s (logs, the agent, a redirected CLI).
/// </summary>
public sealed class Progress(string what, long? total, Action<string> output, Action<string>? live)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastReport = TimeSpan.Zero;
    private long _bytes;

    /// <summary>
    /// The live status line of the command running in this process (set by the CLI while a terminal shows one,
    /// null otherwise). One command runs per CLI process, so one slot is enough.
    /// </summary>
    public static Action<string>? Live { get; set; }

    public static Progress For(string what, long? total, Action<string> output) => new(what, total, output, Live);

    public void Add(long bytes)
    {
        var now = Interlocked.Add(ref _bytes, bytes);
        var elapsed = _clock.Elapsed;
        if (elapsed - _lastReport < (live is not null ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(5)))
        {
            return;
        }
        _lastReport = elapsed;
        var line = Line(what, total, now, elapsed);
        if (live is not null)
        {
            live(line);
        }
        else
        {
            output(line);
        }
    }

    /// <summary>Marks the end of the counted work (the live line is replaced by the next phase; nothing to clear).</summary>
    public void Done()
    {
    }

    /// <summary>
    /// "checking files: 35% · 10.0 MB of 28.6 MB at 5.0 MB/s, ETA 00:00:03" (the percentage and ETA only when the
    /// total is known and bytes are still missing).
    /// </summary>
    public static string Line(string what, long? total, long bytes, TimeSpan elapsed)
    {
        var rate = bytes / Math.Max(elapsed.TotalSeconds, 0.001);
        var percent = total is { } all && all > 0 ? $"{Math.Clamp(bytes / (double)all, 0, 1) * 100:0}% · " : "";
        var text = $"{what.Trim()}: {percent}{Mb(bytes)}{(total is { } t ? $" of {Mb(t)}" : "")} at {Mb((long)rate)}/s";
        if (total is { } whole && rate > 0 && bytes < whole)
        {
            text += $", ETA {TimeSpan.FromSeconds((whole - bytes) / rate):hh\\:mm\\:ss}";
        }
        return what.StartsWith(' ') ? what[..(what.Length - what.TrimStart().Length)] + text : text;
    }

    public static string Mb(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.00} GB" : $"{bytes / (double)(1L << 20):0.0} MB";
}
