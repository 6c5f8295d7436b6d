using System.Text;
using System.Text.RegularExpressions;

namespace PgWarden.Core.Install;

/// <summary>
/// Quoting for systemd unit files (systemd.syntax(7), systemd.service(5) "Command lines"): a word with
/// white space or quotes is double-quoted with C-style escapes, '%' is written '%%' (specifiers) and, on
/// command lines, '$' is written '$$' (variable expansion). Values are never allowed to hold a newline.
/// </summary>
public static partial class SystemdQuoting
{
    [GeneratedRegex(@"^[A-Za-z0-9_@+=:,./-]+$")]
    private static partial Regex Bare();

    /// <summary>One word of ExecStart= (the program or an argument).</summary>
    /// <exception cref="ArgumentException">The word holds a newline or a NUL, which no unit file can carry.</exception>
    public static string CommandWord(string word) => Word(word, escapeDollar: true);

    /// <summary>One path of a space-separated path list (ReadWritePaths=); <paramref name="optional"/> prefixes '-' (a missing path is ignored).</summary>
    public static string PathListEntry(string path, bool optional) => Word((optional ? "-" : "") + path, escapeDollar: false);

    /// <summary>A free-text value (Description=): only specifiers are escaped.</summary>
    public static string Text(string value)
    {
        RejectLineBreaks(value);
        return value.Replace("%", "%%");
    }

    private static string Word(string word, bool escapeDollar)
    {
        RejectLineBreaks(word);
        var escaped = word.Replace("%", "%%");
        if (escapeDollar)
        {
            escaped = escaped.Replace("$", "$$");
        }
        if (word.Length > 0 && Bare().IsMatch(word))
        {
            return escaped;
        }
        var quoted = new StringBuilder("\"");
        foreach (var c in escaped)
        {
            quoted.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }
        return quoted.Append('"').ToString();
    }

    private static void RejectLineBreaks(string value)
    {
        if (value.IndexOfAny(['\n', '\r', '\0']) >= 0)
        {
            throw new ArgumentException($"'{value.ReplaceLineEndings(" ")}' holds a line break or NUL, which a unit file cannot carry", nameof(value));
        }
    }
}
