namespace PgWarden.Monitoring.Reports;

/// <summary>How many rows a report may return at most, and the age threshold of reports that take one.</summary>
public sealed record ReportOptions(int Limit = 20, TimeSpan? OlderThan = null)
{
    public const int MaxLimit = 10_000;
}
