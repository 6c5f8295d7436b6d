using System.Globalization;
using PgWarden.Core.Units;

namespace PgWarden.Core.Ha;

/// <summary>
/// The TIME of `switchover --at TIME`: an ISO 8601 date and time ("2026-12-01T02:30:00Z",
/// "2026-12-01 02:30+01:00"; without an offset it is the local time of the machine running the
/// command, as in Patroni) or a delay from now ("+30s", "+10m", "+2h").
/// </summary>
public static class ScheduleTime
{
    /// <summary>Null when <paramref name="text"/> is not a time; the absolute time otherwise (not checked against now).</summary>
    public static DateTimeOffset? Parse(string text, DateTimeOffset now)
    {
        var t = text.Trim();
        if (t.StartsWith('+'))
        {
            return DurationText.TryParse(t[1..], out var delay) && delay > TimeSpan.Zero ? now + delay : null;
        }
        return DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal | DateTimeStyles.AllowWhiteSpaces, out var at)
            && t.Any(char.IsDigit) && t.Contains('-') ? at : null;
    }
}
