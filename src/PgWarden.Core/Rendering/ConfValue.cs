using System.Text.RegularExpressions;

namespace PgWarden.Core.Rendering;

/// <summary>Quoting for postgresql.conf and libpq connection strings.</summary>
public static partial class ConfValue
{
    [GeneratedRegex(@"^(-?[0-9]+(\.[0-9]+)?[A-Za-z]*|[A-Za-z_][A-Za-z0-9_]*)$")]
    private static partial Regex Bare();

    /// <summary>A postgresql.conf value: bare when safe, otherwise single-quoted with '' escaping.</summary>
    public static string Pg(string value) =>
        Bare().IsMatch(value) ? value : "'" + value.Replace("\\", "\\\\").Replace("'", "''") + "'";

    /// <summary>A libpq conninfo value: bare when safe, otherwise single-quoted with backslash escaping.</summary>
    public static string Conninfo(string value) =>
        Bare().IsMatch(value) && !value.Contains('=') ? value : "'" + value.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
