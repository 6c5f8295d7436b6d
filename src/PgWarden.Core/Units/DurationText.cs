using System.Globalization;
using System.Text.RegularExpressions;

namespace PgWarden.Core.Units;

/// <summary>Durations on the command line: "30s", "10m", "1h", "2d" (a whole number and one unit).</summary>
public static partial class DurationText
{
    [GeneratedRegex(@"^\s*(\d{1,9})\s*(s|m|h|d)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex DurationPattern();

    /// <summary>Parses "30s", "10m", "1h" or "2d"; a bare number, another unit or a negative value is refused.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text is null)
        {
            return false;
        }
        var m = DurationPattern().Match(text);
        if (!m.Success)
        {
            return false;
        }
        var n = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var seconds = m.Groups[2].Value.ToLowerInvariant() switch
        {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            _ => n * 86400,
        };
        if (seconds > (long)TimeSpan.MaxValue.TotalSeconds)
        {
            return false;
        }
        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>Parses a duration or throws a command-line error (exit 2) naming the option.</summary>
    public static TimeSpan Parse(string text, string option)
    {
        if (!TryParse(text, out var d))
        {
            throw new Errors.PgWardenException(Errors.ExitCodes.Usage,
                $"{option}: '{text}' is not a duration (use a whole number and s, m, h or d, e.g. 30s, 10m, 1h, 2d)");
        }
        return d;
    }

    /// <summary>Formats compactly in the largest unit that divides it: 90s → "90s", 600s → "10m".</summary>
    public static string Format(TimeSpan duration)
    {
        var s = (long)duration.TotalSeconds;
        return s switch
        {
            _ when s != 0 && s % 86400 == 0 => $"{s / 86400}d",
            _ when s != 0 && s % 3600 == 0 => $"{s / 3600}h",
            _ when s != 0 && s % 60 == 0 => $"{s / 60}m",
            _ => $"{s}s",
        };
    }
}
