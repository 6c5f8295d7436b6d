using PgWarden.Core.Errors;
using PgWarden.Core.Units;

namespace PgWarden.Core.Tests;

public class DurationTextTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("10m", 600)]
    [InlineData("1h", 3600)]
    [InlineData("2d", 172800)]
    [InlineData("0s", 0)]
    [InlineData(" 5 M ", 300)]
    [InlineData("90s", 90)]
    public void ParsesDurations(string text, int seconds)
    {
        Assert.True(DurationText.TryParse(text, out var d), text);
        Assert.Equal(TimeSpan.FromSeconds(seconds), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("-5m")]
    [InlineData("1.5h")]
    [InlineData("10 minutes")]
    [InlineData("5w")]
    [InlineData("m")]
    [InlineData("1h30m")]
    [InlineData(null)]
    public void RefusesWhatIsNotADuration(string? text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Fact]
    public void ParseNamesTheOptionInItsError()
    {
        var e = Assert.Throws<PgWardenException>(() => DurationText.Parse("soon", "--older-than"));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("--older-than", e.Message);
        Assert.Contains("'soon'", e.Message);
    }

    [Theory]
    [InlineData(30, "30s")]
    [InlineData(600, "10m")]
    [InlineData(3600, "1h")]
    [InlineData(172800, "2d")]
    [InlineData(90, "90s")]
    [InlineData(0, "0s")]
    public void FormatsInTheLargestExactUnit(int seconds, string expected)
    {
        Assert.Equal(expected, DurationText.Format(TimeSpan.FromSeconds(seconds)));
    }
}
