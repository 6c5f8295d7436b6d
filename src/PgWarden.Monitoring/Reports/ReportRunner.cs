using System.Globalization;
using Npgsql;
using PgWarden.Core.Errors;

namespace PgWarden.Monitoring.Reports;

/// <summary>Runs a <see cref="ReportDefinition"/> on an open connection, with its values bound as parameters.</summary>
public static class ReportRunner
{
    public static async Task<ReportResult> RunAsync(NpgsqlConnection conn, ReportDefinition report, ReportOptions options, CancellationToken ct)
    {
        if (options.Limit is < 1 or > ReportOptions.MaxLimit)
        {
            throw new PgWardenException(ExitCodes.Usage, $"--limit must be between 1 and {ReportOptions.MaxLimit}, not {options.Limit}");
        }
        if (options.OlderThan is { } o && o < TimeSpan.Zero)
        {
            throw new PgWardenException(ExitCodes.Usage, "--older-than must not be negative");
        }
        if (report.RequiredExtension is { } extension && !await HasExtensionAsync(conn, extension, ct))
        {
            throw new PgWardenException(ExitCodes.MissingDependency,
                $"report '{report.Name}' needs the {extension} extension, which is not installed in database {conn.Database} (run `pgwarden migrate`)");
        }
        var sql = report.ReplicaSql is { } replicaSql && await IsInRecoveryAsync(conn, ct) ? replicaSql : report.Sql;

        await using var cmd = new NpgsqlCommand(sql, conn);
        if (sql.Contains("@limit", StringComparison.Ordinal))
        {
            cmd.Parameters.AddWithValue("limit", options.Limit);
        }
        if (sql.Contains("@older_than", StringComparison.Ordinal))
        {
            cmd.Parameters.AddWithValue("older_than", options.OlderThan ?? report.DefaultOlderThan ?? TimeSpan.Zero);
        }
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        var rows = new List<IReadOnlyList<object?>>();
        while (await reader.ReadAsync(ct))
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = Plain(reader.GetValue(i));
            }
            rows.Add(row);
        }
        return new ReportResult(report.Name, columns, rows);
    }

    /// <summary>Keeps values JSON and tables understand; anything else becomes its text.</summary>
    private static object? Plain(object value) => value switch
    {
        DBNull => null,
        string or bool or short or int or long or decimal => value,
        double d => double.IsFinite(d) ? d : null,
        float f => float.IsFinite(f) ? (double)f : null,
        uint u => (long)u,
        DateTime t => t,
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    private static async Task<bool> IsInRecoveryAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task<bool> HasExtensionAsync(NpgsqlConnection conn, string extension, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = @name)", conn);
        cmd.Parameters.AddWithValue("name", extension);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
