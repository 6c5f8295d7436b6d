using System.Globalization;
using System.Text.RegularExpressions;

namespace PgWarden.Core.Parameters;

/// <summary>
/// Checks a parameter value against its <see cref="PgSetting"/> the way PostgreSQL's GUC parser
/// does (PostgreSQL docs, "Parameter Names and Values"): booleans, enum members, numbers with
/// memory units (B, kB, MB, GB, TB; multiples of 1024) or time units (us, ms, s, min, h, d),
/// converted to the parameter's own unit and compared with min_val/max_val. Strings are not checked.
/// </summary>
public static partial class ParameterValue
{
    private static readonly Dictionary<string, double> s_memory = new(StringComparer.Ordinal)
    {
        ["B"] = 1, ["kB"] = 1024, ["MB"] = 1024.0 * 1024, ["GB"] = 1024.0 * 1024 * 1024, ["TB"] = 1024.0 * 1024 * 1024 * 1024,
    };

    private static readonly Dictionary<string, double> s_time = new(StringComparer.Ordinal)
    {
        ["us"] = 1, ["ms"] = 1000, ["s"] = 1_000_000, ["min"] = 60_000_000, ["h"] = 3_600_000_000, ["d"] = 86_400_000_000,
    };

    private static readonly string[] s_booleans = ["on", "off", "true", "false", "yes", "no", "1", "0", "t", "f", "y", "n"];

    /// <summary>Null when <paramref name="value"/> is acceptable for <paramref name="setting"/>, otherwise why not (one sentence naming the parameter).</summary>
    public static string? WhyInvalid(PgSetting setting, string value)
    {
        var name = setting.Name;
        if (value.Any(char.IsControl))
        {
            // postgresql.conf has no line breaks inside a value: PostgreSQL would refuse the file at its next start.
            return $"{name}: the value contains a line break or another control character";
        }
        var v = value.Trim();
        switch (setting.VarType)
        {
            // PostgreSQL's bool and enum parsers do not trim: " on" in postgresql.conf stops the server from starting.
            case "bool":
                return v == value && s_booleans.Contains(v.ToLowerInvariant()) ? null : $"{name}: '{value}' is not a boolean (on/off, true/false, yes/no, 1/0)";
            case "enum":
                return v == value && setting.EnumVals.Contains(v, StringComparer.OrdinalIgnoreCase) ? null
                    : $"{name}: '{value}' is not one of {string.Join(", ", setting.EnumVals)}";
            case "integer" or "real":
                return WhyInvalidNumber(setting, v, value);
            default:
                return null;
        }
    }

    private static string? WhyInvalidNumber(PgSetting setting, string v, string original)
    {
        var name = setting.Name;
        var m = NumberPattern().Match(v);
        if (!m.Success || !double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return $"{name}: '{original}' is not a number{(setting.Unit is null ? "" : $" (with an optional unit, e.g. {Example(setting.Unit)})")}";
        }
        var unit = m.Groups[2].Value;
        if (unit.Length > 0)
        {
            if (setting.Unit is null)
            {
                return $"{name}: '{original}' has a unit, but {name} takes a plain number";
            }
            var (scale, table) = UnitScale(setting.Unit);
            if (table is null || !table.TryGetValue(unit, out var given))
            {
                var valid = table is null ? "none" : string.Join(", ", table.Keys);
                return $"{name}: unit '{unit}' is not valid here (valid units: {valid})";
            }
            number = number * given / scale;
        }
        if (setting.VarType == "integer")
        {
            number = Math.Round(number, MidpointRounding.AwayFromZero);
            if (unit.Length == 0 && m.Groups[1].Value.Contains('.'))
            {
                return $"{name}: '{original}' is not an integer";
            }
        }
        var min = double.TryParse(setting.MinVal, NumberStyles.Float, CultureInfo.InvariantCulture, out var lo) ? lo : double.MinValue;
        var max = double.TryParse(setting.MaxVal, NumberStyles.Float, CultureInfo.InvariantCulture, out var hi) ? hi : double.MaxValue;
        if (number < min || number > max)
        {
            var u = setting.Unit is null ? "" : $" (in units of {setting.Unit})";
            return $"{name}: '{original}' is out of range {setting.MinVal} .. {setting.MaxVal}{u}";
        }
        return null;
    }

    /// <summary>The size of one <paramref name="unit"/> of a setting ("8kB" → 8192 bytes) and the unit table it belongs to.</summary>
    private static (double Scale, Dictionary<string, double>? Table) UnitScale(string unit)
    {
        var m = UnitPattern().Match(unit);
        var factor = m.Groups[1].Value.Length > 0 ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 1;
        var name = m.Groups[2].Value;
        if (s_memory.TryGetValue(name, out var bytes))
        {
            return (factor * bytes, s_memory);
        }
        return s_time.TryGetValue(name, out var micros) ? (factor * micros, s_time) : (1, null);
    }

    /// <summary>A setting in its unit written with the largest exact unit ("2048" in 8kB → "16MB"; "60" in s → "1min").</summary>
    public static string Describe(string setting, string unit)
    {
        if (!double.TryParse(setting, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return setting;
        }
        var (scale, table) = UnitScale(unit);
        if (table is null)
        {
            return $"{setting}{unit}";
        }
        var total = n * scale;
        foreach (var (name, size) in table.OrderByDescending(t => t.Value))
        {
            if (total >= size && Math.Abs(total / size - Math.Round(total / size)) < 1e-9)
            {
                return $"{Math.Round(total / size).ToString(CultureInfo.InvariantCulture)}{name}";
            }
        }
        return $"{setting} × {unit}";
    }

    private static string Example(string unit) => UnitScale(unit).Table == s_time ? "30s, 5min" : "64MB, 1GB";

    [GeneratedRegex("^([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\\s*([a-zA-Z]*)$")]
    private static partial Regex NumberPattern();

    [GeneratedRegex("^([0-9]*)([a-zA-Z]+)$")]
    private static partial Regex UnitPattern();
}
