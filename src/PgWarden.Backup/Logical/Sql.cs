namespace PgWarden.Backup.Logical;

/// <summary>Quoting for SQL PgWarden writes itself (standard_conforming_strings on).</summary>
public static class Sql
{
    /// <summary>A double-quoted identifier (inner quotes doubled): any name is safe.</summary>
    public static string Ident(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>A string literal (inner single quotes doubled; backslashes are plain characters).</summary>
    public static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// The <c>-d</c> argument of psql, pg_dump and pg_restore for a database of any name: a conninfo string
    /// (<c>dbname='…'</c>, backslash and quote escaped), since a bare name holding '=' would be read as one.
    /// </summary>
    public static string DbName(string database) =>
        "dbname='" + database.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
