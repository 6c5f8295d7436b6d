using System.Text.RegularExpressions;

namespace PgWarden.Core.Rendering;

/// <summary>Quoting for postgresql.conf and libpq connection strings.</summary>
public static partial class ConfValue
{
    [GeneratedRegex(@"^(-?[0-9]+(\.[0-9]+)?[A-Za-z]*|[A-Za-z_][A-Za-z0-9_]*)$")]
    private static partial Regex Bare();

    /// <summary>A postgresql.conf value: bare when safe, otherwise single-quoted with '' escaping.</summary>
    /// <remarks>Control characters become the escapes PostgreSQL's configuration lexer reads back (\n, \r, \t, \ooo):
    /// a raw line break inside a quoted value makes the whole file invalid, and the server refuses to start.</remarks>
    public static string Pg(string value)
    {
        if (Bare().IsMatch(value))
        {
            return value;
        }
        var sb = new System.Text.StringBuilder("'");
        foreach (var c in value)
        {
            sb.Append(c switch
            {
                '\\' => "\\\\",
                '\'' => "''",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) && c < 0x80 => "\\" + Convert.ToString(c, 8).PadLeft(3, '0'),
                _ => c.ToString(),
            });
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>A libpq conninfo value: bare when safe, otherwise single-quoted with backslash escaping.</summary>
    public static string Conninfo(string value) =>
        Bare().IsMatch(value) && !value.Contains('=') ? value : "'" + value.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    [GeneratedRegex(@"^[A-Za-z0-9_./:=@%+-]+$")]
    private static partial Regex ShellSafe();

    /// <summary>A word for /bin/sh (archive_command runs through the shell): bare when safe, else single-quoted.</summary>
    public static string Shell(string value) =>
        ShellSafe().IsMatch(value) ? value : "'" + value.Replace("'", "'\\''") + "'";
}
