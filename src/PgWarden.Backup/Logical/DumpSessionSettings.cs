using System.Text;

namespace PgWarden.Backup.Logical;

/// <summary>
/// The session settings pg_dump forces on its own connections (setup_connection() in
/// src/bin/pg_dump/pg_dump.c) and pg_restore on its own (_doSetFixedOutputState() in
/// pg_backup_archiver.c), so that the COPY text PgWarden reads and writes beside them does not
/// depend on the database's or role's settings (ALTER DATABASE … SET datestyle = 'SQL, DMY',
/// extra_float_digits = 0, IntervalStyle, search_path, row_security …). They travel in PGOPTIONS,
/// which outranks database and role settings (a client setting has a higher GUC priority).
/// The client encoding is set separately (PGCLIENTENCODING = the server encoding).
/// </summary>
public static class DumpSessionSettings
{
    /// <summary>What a session reading rows (COPY … TO STDOUT) runs with: pg_dump's setup_connection().</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> Dump =
    [
        ("search_path", ""),
        ("DateStyle", "ISO"),
        ("IntervalStyle", "postgres"),
        ("extra_float_digits", "3"),
        ("synchronize_seqscans", "off"),
        ("statement_timeout", "0"),
        ("lock_timeout", "0"),
        ("idle_in_transaction_session_timeout", "0"),
        ("row_security", "off"),
    ];

    /// <summary>
    /// What a session loading rows (COPY … FROM STDIN, pg_restore) runs with: pg_restore's fixed
    /// output state, plus the text forms of <see cref="Dump"/> so that input is read as it was written,
    /// and read-write whatever default_transaction_read_only the database carries.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Value)> Restore =
    [
        ("search_path", ""),
        ("DateStyle", "ISO"),
        ("IntervalStyle", "postgres"),
        ("extra_float_digits", "3"),
        ("statement_timeout", "0"),
        ("lock_timeout", "0"),
        ("idle_in_transaction_session_timeout", "0"),
        ("standard_conforming_strings", "on"),
        ("check_function_bodies", "false"),
        ("xmloption", "content"),
        ("client_min_messages", "warning"),
        ("row_security", "off"),
        ("default_transaction_read_only", "off"),
    ];

    /// <summary>
    /// The PGOPTIONS value for <paramref name="settings"/>: <c>-c name=value</c> each, spaces and
    /// backslashes in values escaped with a backslash as libpq's options parser expects.
    /// </summary>
    public static string PgOptions(IEnumerable<(string Name, string Value)> settings)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in settings)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }
            text.Append("-c ").Append(name).Append('=');
            foreach (var c in value)
            {
                if (c is ' ' or '\\')
                {
                    text.Append('\\');
                }
                text.Append(c);
            }
        }
        return text.ToString();
    }

    /// <summary>The environment of a psql or pg_restore that reads or writes COPY text in <paramref name="encoding"/>.</summary>
    public static Dictionary<string, string> Environment(IEnumerable<(string Name, string Value)> settings, string? encoding) =>
        encoding is null
            ? new() { ["PGOPTIONS"] = PgOptions(settings) }
            : new() { ["PGOPTIONS"] = PgOptions(settings), ["PGCLIENTENCODING"] = encoding };
}
