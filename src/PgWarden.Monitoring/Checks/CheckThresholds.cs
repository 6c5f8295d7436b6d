namespace PgWarden.Monitoring.Checks;

/// <summary>
/// Checklist thresholds. Defaults come from the runbook (lag &lt; 10 s, connections &lt; 180 of 200,
/// slow queries &gt; 1 s) and check_postgres (backends 90%/95%, bloat, transaction-ID age).
/// </summary>
public sealed record CheckThresholds
{
    public double ReplicationLagWarnSeconds { get; init; } = 10;
    public double ReplicationLagFailSeconds { get; init; } = 60;
    public double ConnectionsWarnPercent { get; init; } = 90;
    public double ConnectionsFailPercent { get; init; } = 95;
    public double SlowQueryMeanMs { get; init; } = 1000;
    public double DeadTupleWarnPercent { get; init; } = 20;
    public long DeadTupleMinimum { get; init; } = 10_000;
    public double StaleAnalyzePercent { get; init; } = 10;
    public long XidAgeWarn { get; init; } = 1_000_000_000;
    public long XidAgeFail { get; init; } = 1_500_000_000;
    public double DiskFullWarnDays { get; init; } = 30;
    public double DiskFullFailDays { get; init; } = 7;
}
