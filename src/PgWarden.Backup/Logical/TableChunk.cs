using System.Globalization;
using System.Text.Json.Serialization;

namespace PgWarden.Backup.Logical;

/// <summary>
/// One slice of a large table's rows, by physical position: the heap pages
/// [<see cref="FromPage"/>, <see cref="ToPage"/>) — the last slice of a table has no upper bound,
/// so pages added after the snapshot (whose rows it cannot see anyway) are covered too.
/// PostgreSQL 14+ reads such a slice with a TID range scan, touching only those pages.
/// </summary>
public sealed record TableChunk(int Index, string Schema, string Table, IReadOnlyList<string> Columns, long FromPage, long? ToPage)
{
    /// <summary>The repository file of this slice (COPY text, zstd).</summary>
    [JsonIgnore]
    public string FileName => $"data/{Index.ToString("D5", CultureInfo.InvariantCulture)}.copy.zst";

    [JsonIgnore]
    public string QualifiedName => $"{Quote(Schema)}.{Quote(Table)}";

    [JsonIgnore]
    private string ColumnList => string.Join(", ", Columns.Select(Quote));

    [JsonIgnore]
    public string CopyOutSql
    {
        get
        {
            var range = $"ctid >= '({FromPage.ToString(CultureInfo.InvariantCulture)},0)'::tid"
                + (ToPage is { } to ? $" AND ctid < '({to.ToString(CultureInfo.InvariantCulture)},0)'::tid" : "");
            return $"COPY (SELECT {ColumnList} FROM ONLY {QualifiedName} WHERE {range}) TO STDOUT";
        }
    }

    [JsonIgnore]
    public string CopyInSql => $"COPY {QualifiedName} ({ColumnList}) FROM STDIN";

    /// <summary>Identifiers are double-quoted (and inner quotes doubled), so any name is safe in SQL.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
