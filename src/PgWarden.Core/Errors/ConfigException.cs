namespace PgWarden.Core.Errors;

/// <summary>
/// A configuration error: names the file, the key path and what is wrong. A file with several
/// problems carries all of them in <see cref="Problems"/> (one line each, in file order); the
/// <see cref="Exception.Message"/> is the first one and how many more there are.
/// </summary>
public sealed class ConfigException : PgWardenException
{
    public ConfigException(string message)
        : base(ExitCodes.ConfigError, message)
    {
        Problems = [message];
    }

    /// <param name="problems">At least one line, each naming the file, position and key.</param>
    public ConfigException(IReadOnlyList<string> problems)
        : base(ExitCodes.ConfigError, Summary(problems))
    {
        Problems = problems;
    }

    /// <summary>Every problem found, one line each.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Summary(IReadOnlyList<string> problems) => problems.Count switch
    {
        0 => throw new ArgumentException("no problem to report", nameof(problems)),
        1 => problems[0],
        _ => $"{problems[0]} (and {problems.Count - 1} more {(problems.Count == 2 ? "problem" : "problems")}; `pgwarden config check` lists them all)",
    };
}
