using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

public class TimelineHistoryTests
{
    // 00000003.history as PostgreSQL writes it: timeline 1 left at 0/3000158, timeline 2 at 0/5000A0.
    private const string Three = "1\t0/3000158\tno recovery target specified\n\n2\t0/5000A0\tno recovery target specified\n";

    [Fact]
    public void SwitchPointsOfAncestors()
    {
        var h = TimelineHistory.Parse(3, Three);
        Assert.Equal(0x3000158, h.SwitchPoint(1));
        Assert.Equal(0x5000A0, h.SwitchPoint(2));
        Assert.Null(h.SwitchPoint(4));
    }

    [Fact]
    public void ANodeOnAnAncestorTimelineHasDivergedOnlyPastTheSwitchPoint()
    {
        var h = TimelineHistory.Parse(3, Three);
        Assert.False(h.HasDiverged(2, 0x5000A0));
        Assert.False(h.HasDiverged(1, 0x3000000));
        Assert.True(h.HasDiverged(2, 0x5000A1));
        Assert.True(h.HasDiverged(1, 0x3000159));
    }

    [Fact]
    public void ANodeOnTheSameTimelineHasNotDiverged() => Assert.False(TimelineHistory.Parse(3, Three).HasDiverged(3, long.MaxValue));

    [Fact]
    public void ANodeOnASiblingTimelineHasDiverged() => Assert.True(TimelineHistory.Parse(3, Three).HasDiverged(4, 1));

    [Fact]
    public void TheFirstTimelineHasNoAncestors() => Assert.True(TimelineHistory.Initial(1).HasDiverged(2, 0));

    [Fact]
    public void AGarbledLineIsAnError() => Assert.Throws<FormatException>(() => TimelineHistory.Parse(2, "one\t0/1\tx\n"));
}
