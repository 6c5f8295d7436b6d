namespace PgWarden.Monitoring.Reports;

/// <summary>
/// One SQL report. <see cref="Sql"/> may use the parameters <c>@limit</c> (row bound) and
/// <c>@older_than</c> (an interval); <see cref="ReplicaSql"/>, when set, runs instead on a node in
/// recovery. <see cref="RequiredExtension"/> is checked in the connected database before running.
/// </summary>
public sealed record ReportDefinition(
    string Name,
    string Description,
    string Sql,
    string? ReplicaSql = null,
    string? RequiredExtension = null,
    TimeSpan? DefaultOlderThan = null)
{
    /// <summary>Whether the report honours <see cref="ReportOptions.OlderThan"/>.</summary>
    public bool UsesOlderThan => DefaultOlderThan is not null;
}
