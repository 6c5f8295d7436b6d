using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Fault 8: a replica runs with at least the hot-standby settings its WAL was written with.</summary>
public sealed class HotStandbyTests
{
    [Fact]
    public async Task AReplicaStartsWithAtLeastWhatItsControlFileRecords()
    {
        // max_connections lowered 100 -> 50 in the configuration: pg_control still says 100.
        var h = new AgentHarness("pg2");
        h.Node.AsStandby();
        h.Node.ControlSettings = new HotStandbySettings(100, 8, 10, 0, 64);
        h.Node.Settings = new HotStandbySettings(50, 8, 10, 0, 64);
        h.Dcs.ForceLeader("pg1", TimeSpan.FromMinutes(5));
        h.Member("pg1", NodeRole.Primary, 0x3000000, settings: new HotStandbySettings(50, 8, 10, 0, 64));
        await h.CycleUntilAsync(d => d is HaDecision.Follow && h.Node.Running);
        Assert.Equal(100, h.Node.LastFloor!.MaxConnections);
        Assert.Equal(100, h.Node.Settings.MaxConnections);
    }

    [Fact]
    public async Task AReplicaBelowTheLeadersSettingsRestartsWithThem()
    {
        // max_connections raised on the primary first: the replica restarts with the higher value.
        var h = new AgentHarness("pg2");
        h.Node.AsStandby();
        h.Dcs.ForceLeader("pg1", TimeSpan.FromMinutes(5));
        h.Member("pg1", NodeRole.Primary, 0x3000000, settings: new HotStandbySettings(100, 8, 10, 0, 64));
        await h.CycleUntilAsync(d => d is HaDecision.Follow && h.Node.Running);
        h.Node.TakeActions();
        h.Member("pg1", NodeRole.Primary, 0x3000000, settings: new HotStandbySettings(200, 8, 10, 0, 64));
        await h.CycleUntilAsync(d => d is HaDecision.RestartReplica);
        Assert.Equal(["stop Fast", "start replica of pg1"], h.Node.TakeActions().Where(a => a != "slots on standby"));
        Assert.Equal(200, h.Node.Settings.MaxConnections);
        Assert.IsType<HaDecision.Follow>(await h.CycleAsync());
    }
}
