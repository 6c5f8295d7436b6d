namespace PgWarden.Backup.Logical;

/// <summary>Quoting for SQL PgWarden writes itself (standard_conforming_strings on).</summary>
public static class Sql
{
    /// <summary>A double-quoted identifier (inner quotes doubled): any name is safe.</summary>
    public static string Ident(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>A string literal (inner single quotes doubled; backslashes are plain characters).</summary>
    public static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
