using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// One line for a command line that did not parse: the option and the value in words ("--port: 'abc' is
/// not a whole number", never a .NET type name), allowed values on one line, and for a mistyped command
/// or option System.CommandLine's own typo suggestion ("did you mean `status`?").
/// </summary>
public static class ParseErrorText
{
    private const string CannotParse = "Cannot parse argument";
    private const string DidYouMean = "Did you mean";

    /// <summary>The line for the first error of <paramref name="parse"/> (which must have errors), with where to find help.</summary>
    public static string Describe(ParseResult parse)
    {
        var command = CommandPath(parse.CommandResult);
        var text = parse.UnmatchedTokens.Count > 0
            ? Unmatched(parse, parse.UnmatchedTokens[0], command)
            : Error(parse.Errors.FirstOrDefault(e => e.SymbolResult is not CommandResult) ?? parse.Errors[0]);
        return $"{text} (see `{command} --help`)";
    }

    private static string Unmatched(ParseResult parse, string token, string command)
    {
        var isOption = token.StartsWith('-');
        var isCommand = !isOption && parse.CommandResult.Command.Subcommands.Count > 0;
        if (!isOption && !isCommand)
        {
            return $"unexpected argument '{token}' for `{command}`";
        }
        var what = isOption ? $"unknown option '{token}' for `{command}`"
            : $"unknown command '{token}'{(command == "pgwarden" ? "" : $" for `{command}`")}";
        var suggestions = Suggestions(parse);
        return suggestions.Count == 0 ? what
            : $"{what}; did you mean {string.Join(" or ", suggestions.Take(3).Select(s => $"`{s}`"))}?";
    }

    private static string Error(ParseError error)
    {
        var (name, value, type) = error.SymbolResult switch
        {
            OptionResult o => (o.Option.Name, o.Tokens.FirstOrDefault()?.Value, o.Option.ValueType),
            ArgumentResult a => (a.Argument.Name, a.Tokens.FirstOrDefault()?.Value, a.Argument.ValueType),
            _ => (null, null, null),
        };
        if (name is not null && value is not null && error.Message.StartsWith(CannotParse, StringComparison.Ordinal))
        {
            return $"{name}: '{value}' is not {Describe(type!)}";
        }
        if (name is not null && value is not null && AllowedValues(error.Message) is { Count: > 0 } allowed)
        {
            return $"{name}: '{value}' is not one of {string.Join(", ", allowed)}";
        }
        return ErrorTranslator.OneLine(error.Message.Replace(":\n", ": ", StringComparison.Ordinal));
    }

    /// <summary>A value type in words: "a whole number", "a number", "true or false", "one of a, b".</summary>
    public static string Describe(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t.IsArray)
        {
            return Describe(t.GetElementType()!);
        }
        if (t.IsEnum)
        {
            return $"one of {string.Join(", ", Enum.GetNames(t).Select(n => n.ToLowerInvariant()))}";
        }
        return Type.GetTypeCode(t) switch
        {
            TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32
                or TypeCode.Int64 or TypeCode.UInt64 => "a whole number",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            TypeCode.Boolean => "true or false",
            TypeCode.DateTime => "a date and time",
            _ => "a valid value",
        };
    }

    /// <summary>The quoted values of System.CommandLine's "Must be one of:" list (one per line).</summary>
    private static List<string> AllowedValues(string message)
    {
        var at = message.IndexOf("Must be one of", StringComparison.Ordinal);
        return at < 0 ? []
            : message[at..].Split('\n').Skip(1).Select(l => l.Trim().Trim('\'')).Where(l => l.Length > 0).ToList();
    }

    /// <summary>
    /// System.CommandLine's typo corrections for the unmatched token: its ParseErrorAction prints them
    /// (after "Did you mean one of the following?", one per line); here they are captured instead.
    /// </summary>
    private static List<string> Suggestions(ParseResult parse)
    {
        var action = new ParseErrorAction { ShowHelp = false, ShowTypoCorrections = true };
        var output = new StringWriter();
        var previous = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        parse.InvocationConfiguration.Output = output;
        parse.InvocationConfiguration.Error = TextWriter.Null;
        try
        {
            action.Invoke(parse);
        }
        finally
        {
            (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error) = previous;
        }
        return output.ToString().Split('\n').SkipWhile(l => !l.Contains(DidYouMean, StringComparison.Ordinal)).Skip(1)
            .Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is CommandResult c && c.Command is not RootCommand)
            {
                names.Insert(0, c.Command.Name);
            }
        }
        return string.Join(' ', ["pgwarden", .. names]);
    }
}
