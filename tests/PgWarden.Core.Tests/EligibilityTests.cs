using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using static PgWarden.Core.Tests.HaTestData;

namespace PgWarden.Core.Tests;

public class EligibilityTests
{
    private static readonly string[] Nodes = ["pg1", "pg2", "pg3"];

    private static LeadershipCandidate Candidate(string name, long timeline, long position) => new(name, timeline, position, 100, false);

    [Fact]
    public void TheNewestTimelineComesFromHistoryOptimeOrAMember()
    {
        Assert.Null(Eligibility.NewestTimeline(View(null), "pg1"));
        Assert.Equal(3, Eligibility.NewestTimeline(View(null).WithHistory(3, "pg2"), "pg1")!.Value.Timeline);
        Assert.Equal(4, Eligibility.NewestTimeline(View(null) with { Optime = new LeaderOptime(4, 1) }, "pg1")!.Value.Timeline);
        var member = View(null, Member("pg2", NodeRole.Replica, 1, timeline: 5));
        Assert.Equal(5, Eligibility.NewestTimeline(member, "pg1")!.Value.Timeline);
        Assert.Null(Eligibility.NewestTimeline(member, "pg2"));
    }

    [Fact]
    public void AnOptimeWithoutTimelineFromAnOlderVersionStillBoundsTheLag()
    {
        var view = View(null) with { Optime = LeaderOptime.Parse("10485760") };
        Assert.Contains("maximum_lag_on_failover", Eligibility.WhyNot(view, Candidate("pg2", 1, 1024), Nodes));
    }

    [Fact]
    public void PositionsOnOtherTimelinesAreNotComparedForLag()
    {
        // A member far ahead on an older timeline says nothing about this node's lag on the newer one.
        var view = View(null, Member("pg1", NodeRole.Stopped, 100 * MiB, running: false, timeline: 1)).WithHistory(2, "pg2");
        Assert.Null(Eligibility.WhyNot(view, Candidate("pg2", 2, 5 * MiB), Nodes));
    }

    [Fact]
    public void BestOrdersByTimelineThenPositionThenPriorityThenName()
    {
        var view = View(null, Member("pg2", NodeRole.Replica, 500, timeline: 2), Member("pg3", NodeRole.Replica, 900, timeline: 1));
        // pg3 has more bytes but on an older timeline: it is not even eligible.
        Assert.Equal("pg2", Eligibility.Best(view, null, Nodes)!.Name);
        Assert.NotNull(Eligibility.WhyNot(view, Candidate("pg3", 1, 900), Nodes));
    }

    [Fact]
    public void ACleanlyStoppedNodeIsACandidate()
    {
        var view = View(null, CleanlyStopped("pg1", 2000), Member("pg2", NodeRole.Replica, 1500));
        Assert.Equal("pg1", Eligibility.Best(view, null, Nodes)!.Name);
    }

    [Theory]
    [InlineData("2/123", 2, 123)]
    [InlineData("123", 0, 123)]
    public void LeaderOptimeParsesBothForms(string text, long timeline, long position)
    {
        var optime = LeaderOptime.Parse(text)!;
        Assert.Equal((timeline, position), (optime.Timeline, optime.Position));
        Assert.Equal(optime, LeaderOptime.Parse(optime.Format()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x/1")]
    [InlineData("1/y")]
    public void LeaderOptimeRejectsGarbage(string text) => Assert.Null(LeaderOptime.Parse(text));

    [Theory]
    [InlineData("0/3000060", 0x3000060L)]
    [InlineData("16/B374D848", 0x16B374D848L)]
    [InlineData("0/0", 0L)]
    public void LsnRoundTrips(string text, long bytes)
    {
        Assert.Equal(bytes, Lsn.Parse(text));
        Assert.Equal(text, Lsn.Format(bytes));
    }

    [Fact]
    public void LsnRejectsGarbage() => Assert.Throws<FormatException>(() => Lsn.Parse("nope"));

    [Fact]
    public void DcsConfigRulesMatchTheConfigurationFile()
    {
        Assert.Null(DcsConfigRules.Validate(new DcsConfig()));
        Assert.Contains("too long for a ttl of 10 s", DcsConfigRules.Validate(new DcsConfig { Ttl = 10, LoopWait = 6 }));
        Assert.Null(DcsConfigRules.Validate(new DcsConfig { Ttl = 10, LoopWait = 3 }));
        Assert.Contains("too long for a ttl of 4 s", DcsConfigRules.Validate(new DcsConfig { Ttl = 4, LoopWait = 1 }));
        Assert.Contains("out of range", DcsConfigRules.Validate(new DcsConfig { Ttl = 1 }));
        Assert.Contains("negative", DcsConfigRules.Validate(new DcsConfig { MaximumLagOnFailover = -1 }));
        Assert.Equal(["ttl 5 → 20", "synchronous_mode False → True"], DcsConfigRules.Differences(new DcsConfig(), new DcsConfig { Ttl = 20, SynchronousMode = true }));
        Assert.Empty(DcsConfigRules.Differences(new DcsConfig(), new DcsConfig { Paused = true }));
    }
}
