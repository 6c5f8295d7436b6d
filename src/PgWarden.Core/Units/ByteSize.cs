using System.Globalization;
using System.Text.RegularExpressions;

namespace PgWarden.Core.Units;

/// <summary>Sizes in bytes, parsed from "16GB"/"512MiB"/"10485kB" and printed in PostgreSQL's units.</summary>
public static partial class ByteSize
{
    public const long KB = 1024;
    public const long MB = 1024 * KB;
    public const long GB = 1024 * MB;
    public const long TB = 1024 * GB;

    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$")]
    private static partial Regex SizePattern();

    /// <summary>Parses "16GB", "16G", "16GiB", "512MB", "1024kB" or a plain byte count.</summary>
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        var m = SizePattern().Match(text);
        if (!m.Success)
        {
            return false;
        }
        var number = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var unit = m.Groups[2].Value.ToUpperInvariant() switch
        {
            "K" => KB,
            "M" => MB,
            "G" => GB,
            "T" => TB,
            _ => 1,
        };
        bytes = (long)Math.Round(number * unit);
        return bytes > 0 || number == 0;
    }

    /// <summary>Formats in the largest PostgreSQL unit (kB, MB, GB, TB) that divides the value exactly.</summary>
    public static string ToPostgres(long bytes)
    {
        if (bytes % KB != 0)
        {
            bytes = (bytes / KB + 1) * KB;
        }
        foreach (var (unit, size) in new[] { ("TB", TB), ("GB", GB), ("MB", MB) })
        {
            if (bytes >= size && bytes % size == 0)
            {
                return $"{bytes / size}{unit}";
            }
        }
        return $"{bytes / KB}kB";
    }

    /// <summary>Human-friendly rounding for tables: "1.5 GiB".</summary>
    public static string Human(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        var i = 0;
        while (Math.Abs(v) >= 1024 && i < units.Length - 1)
        {
            v /= 1024;
            i++;
        }
        return i == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.#} {units[i]}");
    }
}
