using System.Text;

namespace PgWarden.Backup.Logical;

/// <summary>
/// Turns one pg_db_role_setting entry ("name=value") back into an ALTER DATABASE … SET statement, as
/// pg_dump's makeAlterConfigCommand() does: variables marked GUC_LIST_QUOTE were stored already
/// quoted, so their value is split into its elements (SplitGUCList) and each is emitted as a string
/// literal; every other value is one string literal.
/// </summary>
public static class AlterConfigCommand
{
    /// <summary>PostgreSQL 15's GUC_LIST_QUOTE variables (variable_is_guc_list_quote() in dumputils.c).</summary>
    private static readonly HashSet<string> ListQuoted = new(StringComparer.OrdinalIgnoreCase)
    {
        "local_preload_libraries", "search_path", "session_preload_libraries", "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories",
    };

    /// <summary>
    /// <c>ALTER DATABASE "db" [… ROLE]</c> SET for <paramref name="entry"/>; <paramref name="role"/> null for a
    /// setting of the database itself, else <c>ALTER ROLE "role" IN DATABASE "db" SET …</c>.
    /// Throws <see cref="FormatException"/> for an entry without '='.
    /// </summary>
    public static string For(string database, string? role, string entry)
    {
        var eq = entry.IndexOf('=');
        if (eq <= 0)
        {
            throw new FormatException($"'{entry}' is not a name=value setting");
        }
        var name = entry[..eq];
        var value = entry[(eq + 1)..];
        var target = role is null ? $"ALTER DATABASE {Sql.Ident(database)}" : $"ALTER ROLE {Sql.Ident(role)} IN DATABASE {Sql.Ident(database)}";
        var values = ListQuoted.Contains(name) ? SplitGucList(value).Select(Sql.Literal) : [Sql.Literal(value)];
        return $"{target} SET {Sql.Ident(name)} TO {string.Join(", ", values)}";
    }

    /// <summary>
    /// SplitGUCList() of dumputils.c: elements separated by commas, surrounding whitespace dropped,
    /// double-quoted elements taken literally with "" standing for one quote.
    /// </summary>
    public static IReadOnlyList<string> SplitGucList(string text)
    {
        var result = new List<string>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            if (i >= text.Length)
            {
                return result;
            }
            var item = new StringBuilder();
            if (text[i] == '"')
            {
                i++;
                while (i < text.Length)
                {
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            item.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    item.Append(text[i++]);
                }
            }
            else
            {
                while (i < text.Length && text[i] != ',' && !char.IsWhiteSpace(text[i]))
                {
                    item.Append(text[i++]);
                }
            }
            result.Add(item.ToString());
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            if (i < text.Length && text[i] == ',')
            {
                i++;
            }
            else if (i >= text.Length)
            {
                return result;
            }
        }
    }
}
