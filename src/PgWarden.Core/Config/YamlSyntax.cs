using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PgWarden.Core.Config;

/// <summary>
/// Reads the YAML text of a configuration file. A syntax error is reported where it is (YamlDotNet
/// reports a parser error with the start of the enclosing block as <c>Start</c> and the offending token
/// as <c>End</c>), and every line indented with a tab is reported too — YAML indents with spaces only,
/// and a tab is the most common reason a hand-edited file does not parse.
/// </summary>
internal static class YamlSyntax
{
    /// <exception cref="Errors.ConfigException">The text is not valid YAML; every problem found is listed.</exception>
    public static YamlStream Load(string yaml, ConfigDiagnostics diagnostics)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
            return stream;
        }
        catch (YamlException e)
        {
            var tabLines = TabIndentedLines(yaml);
            foreach (var (line, column) in tabLines)
            {
                diagnostics.ReportFile("not valid YAML: a tab in the indentation (YAML indents with spaces only)", line, column);
            }
            var (errorLine, errorColumn) = Position(e);
            // YamlDotNet reports "found invalid tab as indentation" at the start of the enclosing mapping
            // (line 1 for a top-level one): the tab lines above say where the tabs really are.
            var aboutTabs = tabLines.Count > 0 && Describe(e).Contains("tab", StringComparison.OrdinalIgnoreCase);
            if (!aboutTabs && !tabLines.Any(t => t.Line == errorLine))
            {
                diagnostics.ReportFile($"not valid YAML: {Describe(e)}", errorLine, errorColumn);
            }
            diagnostics.ThrowIfAny();
            throw; // unreachable: at least one problem was reported
        }
    }

    /// <summary>1-based line and column of each tab in the leading whitespace of a line.</summary>
    public static IReadOnlyList<(int Line, int Column)> TabIndentedLines(string yaml)
    {
        var found = new List<(int, int)>();
        var lines = yaml.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            var tab = lines[i].IndexOf('\t', 0, indent);
            if (tab >= 0 && lines[i].Trim().Length > 0)
            {
                found.Add((i + 1, tab + 1));
            }
        }
        return found;
    }

    /// <summary>Where the error is: the innermost exception's end mark (the offending token), not the enclosing block's start.</summary>
    private static (int Line, int Column) Position(YamlException e)
    {
        var innermost = e;
        while (innermost.InnerException is YamlException inner)
        {
            innermost = inner;
        }
        var mark = innermost.End.Line >= innermost.Start.Line && innermost.End.Line > 0 ? innermost.End : innermost.Start;
        return ((int)mark.Line, (int)mark.Column);
    }

    /// <summary>YamlDotNet's message without its "(Line: …, Col: …, Idx: …) - (…): " prefix, which would repeat the position.</summary>
    private static string Describe(YamlException e)
    {
        var innermost = e;
        while (innermost.InnerException is YamlException inner)
        {
            innermost = inner;
        }
        var text = innermost.Message;
        var cut = text.IndexOf("): ", StringComparison.Ordinal);
        return (cut >= 0 && text.StartsWith("(Line:", StringComparison.Ordinal) ? text[(cut + 3)..] : text).TrimEnd('.');
    }
}
