using System.Globalization;
using System.Text.RegularExpressions;

namespace PgWarden.Backup.Physical;

/// <summary>
/// A recovery target time in one of the unambiguous forms only — ISO 8601 and PostgreSQL's
/// <c>YYYY-MM-DD HH:MM[:SS[.ffffff]][+TZ]</c> (zone Z, UTC, ±HH, ±HHMM or ±HH:MM; none means UTC) — never a
/// culture's reading of "01/12/2026", which is January in one place and December in another.
/// </summary>
public static partial class TargetTime
{
    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$", RegexOptions.IgnoreCase)]
    private static partial Regex Form();

    /// <summary>The instant <paramref name="text"/> names; null when it is not one of the accepted forms or not a real date and time.</summary>
    public static DateTimeOffset? TryParse(string text)
    {
        var m = Form().Match(text.Trim());
        if (!m.Success)
        {
            return null;
        }
        int Group(int i) => m.Groups[i].Success ? int.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture) : 0;
        var zone = m.Groups[8].Value.ToUpperInvariant();
        var offset = TimeSpan.Zero;
        if (zone.Length > 0 && zone is not ("Z" or "UTC"))
        {
            var digits = zone[1..].Replace(":", "", StringComparison.Ordinal);
            offset = new TimeSpan(int.Parse(digits[..2], CultureInfo.InvariantCulture), digits.Length > 2 ? int.Parse(digits[2..], CultureInfo.InvariantCulture) : 0, 0);
            offset = zone[0] == '-' ? -offset : offset;
        }
        try
        {
            var fraction = m.Groups[7].Success ? long.Parse(m.Groups[7].Value.PadRight(7, '0'), CultureInfo.InvariantCulture) : 0;
            return new DateTimeOffset(Group(1), Group(2), Group(3), Group(4), Group(5), Group(6), offset).AddTicks(fraction).ToUniversalTime();
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
