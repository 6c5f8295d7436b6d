namespace PgWarden.Backup.Logical;

/// <summary>A table whose data is dumped in slices rather than by pg_dump: its columns (in order) and its size in heap pages.</summary>
public sealed record LargeTable(string Schema, string Table, IReadOnlyList<string> Columns, long Pages);

/// <summary>
/// Splits the large tables of a dump into slices of about <c>chunkPages</c> heap pages each, so that
/// several connections can read one big table at once (pg_dump reads a table through one
/// connection, whatever -j says). Largest tables first, so the long slices start early.
/// </summary>
public static class TableChunkPlanner
{
    public static IReadOnlyList<TableChunk> Plan(IEnumerable<LargeTable> tables, long chunkPages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkPages, 1);
        var chunks = new List<TableChunk>();
        foreach (var t in tables.OrderByDescending(t => t.Pages).ThenBy(t => t.Schema, StringComparer.Ordinal).ThenBy(t => t.Table, StringComparer.Ordinal))
        {
            var slices = Math.Max(1, (t.Pages + chunkPages - 1) / chunkPages);
            for (long i = 0; i < slices; i++)
            {
                long? to = i == slices - 1 ? null : (i + 1) * chunkPages;
                chunks.Add(new TableChunk(chunks.Count, t.Schema, t.Table, t.Columns, i * chunkPages, to));
            }
        }
        return chunks;
    }
}
