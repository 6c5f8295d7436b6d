namespace PgWarden.Monitoring.Checks;

/// <summary>One checklist item: its status and a one-line reason.</summary>
public sealed record CheckResult(string Name, CheckStatus Status, string Reason)
{
    public static CheckResult Ok(string name, string reason) => new(name, CheckStatus.Ok, reason);
    public static CheckResult Warn(string name, string reason) => new(name, CheckStatus.Warn, reason);
    public static CheckResult Fail(string name, string reason) => new(name, CheckStatus.Fail, reason);

    /// <summary>0 when every item is OK, 1 when the worst is WARN, 2 when any item FAILs (for cron and alerting).</summary>
    public static int ExitCode(IEnumerable<CheckResult> results) =>
        results.Select(r => (int)r.Status).DefaultIfEmpty(0).Max();
}
