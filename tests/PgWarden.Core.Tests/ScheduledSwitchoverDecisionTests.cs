using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using static PgWarden.Core.Tests.HaTestData;

namespace PgWarden.Core.Tests;

/// <summary>`switchover --at`: the request waits in the DCS until its time (Patroni's scheduled_at), then the leader hands over; and operator restarts.</summary>
public class ScheduledSwitchoverDecisionTests
{
    private static readonly TimeSpan Safe = TimeSpan.FromSeconds(9);

    private static FailoverRequest ScheduledIn(TimeSpan fromNow) =>
        Switchover("pg1", "pg2") with { ScheduledAt = Now + fromNow, Deadline = Now + fromNow + TimeSpan.FromSeconds(30) };

    private static ClusterView Cluster(FailoverRequest request) => View("pg1", Member("pg2", NodeRole.Replica, 100)).With(request);

    [Fact]
    public void BeforeItsTimeTheLeaderKeepsLeadingAndSaysWhatWaits()
    {
        var d = Is<HaDecision.Lead>(Decide(Cluster(ScheduledIn(TimeSpan.FromMinutes(5))), Primary("pg1", 100, Safe)));
        Assert.Contains("scheduled at 2026-11-26 12:05:00 UTC", d.Reason);
    }

    [Fact]
    public void AtItsTimeTheLeaderHandsOver() =>
        Assert.Equal("pg2", Is<HaDecision.HandOver>(HaDecider.Decide(Cluster(ScheduledIn(TimeSpan.FromMinutes(5))), Primary("pg1", 100, Safe), Now.AddMinutes(5), Ttl)).Target);

    [Fact]
    public void AScheduledSwitchoverIsNotCarriedOutByALeaderItWasNotScheduledOn()
    {
        // pg1 failed over to pg3 before the time: pg3 does not hand over to pg2 on pg1's schedule.
        var view = View("pg3", Member("pg2", NodeRole.Replica, 100)).With(ScheduledIn(TimeSpan.FromMinutes(5)));
        Is<HaDecision.Lead>(HaDecider.Decide(view, Primary("pg3", 100, Safe), Now.AddMinutes(5), Ttl));
    }

    [Fact]
    public void AScheduledSwitchoverWhoseTimeoutPassedIsDropped() =>
        Is<HaDecision.Lead>(HaDecider.Decide(Cluster(ScheduledIn(TimeSpan.FromMinutes(5))), Primary("pg1", 100, Safe), Now.AddMinutes(5).AddSeconds(31), Ttl));

    [Fact]
    public void AScheduledTargetDoesNotTakeOverEarlyWhenTheLeaderDies()
    {
        // No leader and a switchover to pg2 scheduled for later: that is no failover request now, so the normal rules pick the node.
        var view = View(null, Member("pg3", NodeRole.Replica, 200)).With(ScheduledIn(TimeSpan.FromMinutes(5)));
        var d = Decide(view, Replica("pg2", 100) with { Peers = ["pg1", "pg3"] });
        Assert.Contains("pg3", Is<HaDecision.Wait>(d).Reason);
    }

    [Fact]
    public void ANotYetDueRequestExpiresFromItsScheduledTimeNotFromWhenItWasMade()
    {
        var r = Switchover("pg1", "pg2") with { ScheduledAt = Now.AddHours(2) };
        Assert.True(r.IsActive(Now.AddHours(1)));
        Assert.True(r.IsWaiting(Now.AddHours(1)));
        Assert.False(r.IsWaiting(Now.AddHours(2)));
        Assert.True(r.IsActive(Now.AddHours(2).AddSeconds(29)));
        Assert.False(r.IsActive(Now.AddHours(2).AddSeconds(31)));
    }

    [Fact]
    public void ANewSwitchoverIsRefusedWhileOneIsScheduled()
    {
        var view = View("pg1", Member("pg1", NodeRole.Primary, 100), Member("pg2", NodeRole.Replica, 100) with { State = "streaming" }).With(ScheduledIn(TimeSpan.FromMinutes(5)));
        var why = SwitchoverRules.Validate(FailoverKind.Switchover, view, ["pg1", "pg2"], null, null, Now);
        Assert.Contains("--cancel", why);
    }

    [Fact]
    public void ARequestedRestartOfTheLeaderRestartsInPlace() =>
        Assert.Null(Is<HaDecision.Restart>(Decide(View("pg1"), Primary("pg1", 100, Safe) with { RestartRequested = true })).Leader);

    [Fact]
    public void ADueSwitchoverComesBeforeARequestedRestart() =>
        Is<HaDecision.HandOver>(Decide(Cluster(Switchover("pg1", "pg2")), Primary("pg1", 100, Safe) with { RestartRequested = true }));

    [Fact]
    public void ARequestedRestartOfAReplicaStreamsFromTheLeaderAgain() =>
        Assert.Equal("pg1", Is<HaDecision.Restart>(Decide(View("pg1", Member("pg1", NodeRole.Primary, 100)), Replica("pg2", 100) with { RestartRequested = true })).Leader);

    [Fact]
    public void AReplicaIsNotRestartedWhileItsLeaderIsNotPrimaryYet() =>
        Is<HaDecision.Wait>(Decide(View("pg1", Member("pg1", NodeRole.Replica, 100)), Replica("pg2", 100) with { RestartRequested = true }));

    [Theory]
    [InlineData("+30s", 30)]
    [InlineData("+10m", 600)]
    [InlineData("2026-11-26T12:02:00Z", 120)]
    [InlineData("2026-11-26 13:02:00+01:00", 120)]
    public void ScheduleTimesAreAbsoluteOrADelay(string text, int seconds) =>
        Assert.Equal(Now.AddSeconds(seconds), ScheduleTime.Parse(text, Now));

    [Theory]
    [InlineData("tomorrow")]
    [InlineData("+0s")]
    [InlineData("+ten")]
    [InlineData("12")]
    public void NonsenseIsNoTime(string text) => Assert.Null(ScheduleTime.Parse(text, Now));
}
