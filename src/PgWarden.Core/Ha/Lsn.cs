using System.Globalization;

namespace PgWarden.Core.Ha;

/// <summary>PostgreSQL WAL positions ("16/B374D848") as byte offsets, for comparing and subtracting.</summary>
public static class Lsn
{
    public static long Parse(string text)
    {
        var slash = text.IndexOf('/');
        if (slash <= 0 || !uint.TryParse(text.AsSpan(0, slash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hi)
            || !uint.TryParse(text.AsSpan(slash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var lo))
        {
            throw new FormatException($"'{text}' is not a WAL position (like 0/3000060)");
        }
        return ((long)hi << 32) | lo;
    }

    public static long? ParseOrNull(string? text) => text is null ? null : Parse(text);

    public static string Format(long lsn) => $"{(uint)(lsn >> 32):X}/{(uint)lsn:X}";
}
