using PgWarden.Core.Units;

namespace PgWarden.Core.Tests;

public class ByteSizeTests
{
    [Theory]
    [InlineData("16GB", 16L * 1024 * 1024 * 1024)]
    [InlineData("16G", 16L * 1024 * 1024 * 1024)]
    [InlineData("16GiB", 16L * 1024 * 1024 * 1024)]
    [InlineData("512MiB", 512L * 1024 * 1024)]
    [InlineData("512MB", 512L * 1024 * 1024)]
    [InlineData("1.5G", 1536L * 1024 * 1024)]
    [InlineData("10485kB", 10485L * 1024)]
    [InlineData("2TB", 2L * 1024 * 1024 * 1024 * 1024)]
    [InlineData(" 256 mb ", 256L * 1024 * 1024)]
    [InlineData("4096", 4096L)]
    [InlineData("0", 0L)]
    public void ParsesSizes(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes), text);
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("GB")]
    [InlineData("-1GB")]
    [InlineData("16XB")]
    [InlineData("1.5.5G")]
    [InlineData("16 GB extra")]
    [InlineData("1,5G")]
    public void RejectsNonSizes(string text)
    {
        Assert.False(ByteSize.TryParse(text, out _), text);
    }

    [Theory]
    [InlineData(4L * 1024 * 1024 * 1024, "4GB")]
    [InlineData(1536L * 1024 * 1024, "1536MB")]
    [InlineData(16L * 1024 * 1024, "16MB")]
    [InlineData(10485L * 1024, "10485kB")]
    [InlineData(1024L * 1024 * 1024 * 1024, "1TB")]
    [InlineData(1025L * 1024 * 1024 * 1024, "1025GB")]
    [InlineData(1024L, "1kB")]
    [InlineData(1000L, "1kB")]
    [InlineData(1025L, "2kB")]
    public void ToPostgresPicksTheLargestExactUnit(long bytes, string expected)
    {
        Assert.Equal(expected, ByteSize.ToPostgres(bytes));
    }

    [Theory]
    [InlineData(512L, "512 B")]
    [InlineData(1536L * 1024 * 1024, "1.5 GiB")]
    [InlineData(16L * 1024 * 1024 * 1024, "16 GiB")]
    public void HumanRoundsForTables(long bytes, string expected)
    {
        Assert.Equal(expected, ByteSize.Human(bytes));
    }
}
