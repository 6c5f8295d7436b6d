using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

/// <summary>A cluster's creation time, read from its system identifier (initdb's time of day in the high 32 bits).</summary>
public sealed class SystemIdentifierTimeTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TheHighBitsAreTheSecondsOfInitdb()
    {
        var created = new DateTimeOffset(2026, 11, 26, 9, 15, 42, TimeSpan.Zero);
        var id = ((ulong)created.ToUnixTimeSeconds() << 32) | (654321UL << 12) | 0xABC;
        Assert.Equal(created, SystemIdentifierTime.CreatedAt(id.ToString(System.Globalization.CultureInfo.InvariantCulture), Now));
    }

    [Fact]
    public void ARealIdentifierGivesItsCreationTime()
    {
        // pg_controldata of a cluster created 2025-01-01 00:00:00 UTC (1735689600 << 32 = 7454730068007321600).
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), SystemIdentifierTime.CreatedAt("7454730068007321600", Now));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not a number")]
    [InlineData("-5")]
    [InlineData("12345")]
    public void NoOrAnImplausibleIdentifierGivesNothing(string? id) => Assert.Null(SystemIdentifierTime.CreatedAt(id, Now));

    [Fact]
    public void AnIdentifierFromTheFutureIsNotTrusted()
    {
        var future = (ulong)Now.AddDays(3).ToUnixTimeSeconds() << 32;
        Assert.Null(SystemIdentifierTime.CreatedAt(future.ToString(System.Globalization.CultureInfo.InvariantCulture), Now));
    }
}
