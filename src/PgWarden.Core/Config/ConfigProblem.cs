namespace PgWarden.Core.Config;

/// <summary>One problem of a configuration file: where (1-based line and column; 0 when unknown), which key path, what is wrong.</summary>
public sealed record ConfigProblem(string File, int Line, int Column, string Key, string What)
{
    /// <summary>The compiler-style form editors jump to: <c>FILE:LINE:COLUMN: KEY: WHAT</c>.</summary>
    public override string ToString()
    {
        var where = Line > 0 ? $"{File}:{Line}:{Column}" : File;
        return Key.Length == 0 ? $"{where}: {What}" : $"{where}: {Key}: {What}";
    }
}
