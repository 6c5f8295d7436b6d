namespace PgWarden.Postgres.Tools;

/// <summary>
/// A program to run. Arguments never carry secrets: passwords travel in passfiles or environment
/// variables that <see cref="ProcessLauncher"/> sets only for the child.
/// </summary>
public sealed record ToolCommand(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>Run as the unprivileged server OS user (when we are root).</summary>
    public bool AsServerUser { get; init; } = true;

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    public string? WorkingDirectory { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Signal the program gets when this process dies, however it dies (SIGKILL included): a
    /// primary's PostgreSQL must not outlive its agent. Null: none.
    /// </summary>
    public string? ParentDeathSignal { get; init; }

    /// <summary>Text for logs and errors: the program name and its arguments (never secrets).</summary>
    public override string ToString() => $"{Path.GetFileName(FileName)} {string.Join(' ', Arguments)}";
}
