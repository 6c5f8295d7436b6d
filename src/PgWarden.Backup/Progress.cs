using System.Diagnostics;

namespace PgWarden.Backup;

/// <summary>
/// Reports bytes, rate and (when the total is known) ETA: one updating line on a terminal, a
/// plain line every few seconds otherwise.
/// </summary>
public sealed class Progress(string what, long? total, Action<string> output, bool terminal)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastReport = TimeSpan.Zero;
    private long _bytes;

    public static Progress For(string what, long? total, Action<string> output) =>
        new(what, total, output, !Console.IsErrorRedirected);

    public void Add(long bytes)
    {
        var now = Interlocked.Add(ref _bytes, bytes);
        var elapsed = _clock.Elapsed;
        if (elapsed - _lastReport < (terminal ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(5)))
        {
            return;
        }
        _lastReport = elapsed;
        var line = Line(now, elapsed);
        if (terminal)
        {
            Console.Error.Write("\r" + (Bar(now) + line).PadRight(100));
        }
        else
        {
            output(line);
        }
    }

    public void Done()
    {
        if (terminal)
        {
            Console.Error.Write("\r" + new string(' ', 100) + "\r");
        }
    }

    /// <summary>"[#######-------------]  35% " when the total is known, else nothing.</summary>
    private string Bar(long bytes)
    {
        if (total is not { } all || all <= 0)
        {
            return "";
        }
        var fraction = Math.Clamp(bytes / (double)all, 0, 1);
        var filled = (int)Math.Round(fraction * 20);
        return $"[{new string('#', filled)}{new string('-', 20 - filled)}] {fraction * 100,3:0}% ";
    }

    private string Line(long bytes, TimeSpan elapsed)
    {
        var rate = bytes / Math.Max(elapsed.TotalSeconds, 0.001);
        var text = $"{what}: {Mb(bytes)}{(total is { } t ? $" of {Mb(t)}" : "")} at {Mb((long)rate)}/s";
        if (total is { } all && rate > 0 && bytes < all)
        {
            text += $", ETA {TimeSpan.FromSeconds((all - bytes) / rate):hh\\:mm\\:ss}";
        }
        return text;
    }

    public static string Mb(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.00} GB" : $"{bytes / (double)(1L << 20):0.0} MB";
}
