using PgWarden.Backup.Logical;
using Xunit;

namespace PgWarden.Core.Tests;

public sealed class TableChunkPlannerTests
{
    private static LargeTable Table(string name, long pages) => new("public", name, ["id", "v"], pages);

    [Fact]
    public void SlicesCoverEveryPageOnceAndTheLastIsOpenEnded()
    {
        var chunks = TableChunkPlanner.Plan([Table("t", 1000)], 300);
        Assert.Equal([(0L, (long?)300L), (300L, 600L), (600L, 900L), (900L, null)], chunks.Select(c => (c.FromPage, c.ToPage)));
        Assert.Equal([0, 1, 2, 3], chunks.Select(c => c.Index));
    }

    [Fact]
    public void ATableOfExactlyNSlicesGetsNoEmptyTail()
    {
        var chunks = TableChunkPlanner.Plan([Table("t", 600)], 300);
        Assert.Equal([(0L, (long?)300L), (300L, null)], chunks.Select(c => (c.FromPage, c.ToPage)));
    }

    [Fact]
    public void AnEmptyOrSmallTableIsOneOpenSlice()
    {
        var chunks = TableChunkPlanner.Plan([Table("empty", 0)], 300);
        Assert.Equal((0L, (long?)null), (chunks.Single().FromPage, chunks.Single().ToPage));
    }

    [Fact]
    public void LargestTablesComeFirstAndFileNamesAreUnique()
    {
        var chunks = TableChunkPlanner.Plan([Table("small", 100), Table("big", 700)], 300);
        Assert.Equal(["big", "big", "big", "small"], chunks.Select(c => c.Table));
        Assert.Equal(chunks.Count, chunks.Select(c => c.FileName).Distinct().Count());
        Assert.Equal("data/00003.copy.zst", chunks[3].FileName);
    }

    [Fact]
    public void CopyStatementsQuoteNamesAndBoundTheRange()
    {
        var chunk = new TableChunk(0, "Sales", "Order\"s", ["id", "Total"], 300, 600);
        Assert.Equal("COPY (SELECT \"id\", \"Total\" FROM ONLY \"Sales\".\"Order\"\"s\" WHERE ctid >= '(300,0)'::tid AND ctid < '(600,0)'::tid) TO STDOUT", chunk.CopyOutSql);
        Assert.Equal("COPY \"Sales\".\"Order\"\"s\" (\"id\", \"Total\") FROM STDIN", chunk.CopyInSql);
        Assert.DoesNotContain("ctid <", (chunk with { ToPage = null }).CopyOutSql);
    }

    [Fact]
    public void TheIndexRoundTripsThroughJson()
    {
        var index = new TableDataIndex("UTF8", TableChunkPlanner.Plan([Table("t", 500)], 300));
        var back = TableDataIndex.Parse(index.ToJson());
        Assert.Equal("UTF8", back.Encoding);
        Assert.Equal(index.Chunks.Select(c => (c.Index, c.Schema, c.Table, string.Join(",", c.Columns), c.FromPage, c.ToPage)),
            back.Chunks.Select(c => (c.Index, c.Schema, c.Table, string.Join(",", c.Columns), c.FromPage, c.ToPage)));
        Assert.DoesNotContain("copy_out_sql", index.ToJson());
    }

    [Fact]
    public void ZeroChunkPagesIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TableChunkPlanner.Plan([Table("t", 5)], 0));
}
