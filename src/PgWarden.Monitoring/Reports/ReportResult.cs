namespace PgWarden.Monitoring.Reports;

/// <summary>A report's rows; values are null, string, bool, integers, decimal, double or UTC DateTime.</summary>
public sealed record ReportResult(string Name, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<object?>> Rows)
{
    /// <summary>The values of one column, in row order.</summary>
    public IEnumerable<object?> Column(string name)
    {
        var i = Columns.ToList().IndexOf(name);
        if (i < 0)
        {
            throw new ArgumentException($"report '{Name}' has no column '{name}' (columns: {string.Join(", ", Columns)})", nameof(name));
        }
        return Rows.Select(r => r[i]);
    }
}
