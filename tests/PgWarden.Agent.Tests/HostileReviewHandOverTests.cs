using PgWarden.Agent.Ha;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Hostile review 16: the hand-over after two crashes, re-requested after an abandoned attempt.</summary>
public sealed class HostileReviewHandOverTests
{
    /// <summary>
    /// Finding 3 (availability): the re-request after an abandoned hand-over also follows an abandon that
    /// had already stopped the primary (the target, caught up before the stop, never received the shutdown
    /// checkpoint — a half-broken link to it). Each re-request stopped the twice-crashed primary again: a
    /// write outage every few seconds for the whole minute after the crashes, where one attempt was made before.
    /// </summary>
    [Fact]
    public async Task AHandOverAbandonedAfterStoppingThePrimaryIsNotRequestedAgain()
    {
        var h = await AgentHarness.RunningLeaderAsync();
        h.Member("pg2", NodeRole.Replica, h.Node.Position);
        h.Node.Crash();
        await h.CycleAsync();
        h.Node.Crash();
        await h.CycleAsync();
        h.Node.TakeActions();
        for (var i = 0; i < 90; i++)
        {
            // pg2 has everything the running primary wrote, never the shutdown checkpoint after it.
            h.Peers.Received["pg2"] = h.Node.Position;
            h.Member("pg2", NodeRole.Replica, h.Node.Position);
            await h.CycleAsync(waitForAction: false, advance: TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }
        for (var i = 0; i < 50 && !h.Agent.WhenIdleAsync().IsCompleted; i++)
        {
            h.Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }
        var stops = h.Node.TakeActions().Count(a => a == "stop Fast");
        Assert.True(stops <= 1, $"the twice-crashed primary was stopped {stops} times for hand-overs that were abandoned");
        Assert.Equal("pg1", h.Dcs.Leader);
    }
}
