using PgWarden.Core.Ha;
using PgWarden.Core.Rendering;
using PgWarden.Core.Tuning;

namespace PgWarden.Core.Tests;

public class ControlDataTests
{
    // pg_controldata of PostgreSQL 15 (trimmed to the lines read, plus a few others).
    private const string Output = """
        pg_control version number:            1300
        Database system identifier:           7713802094976264831
        Database cluster state:               shut down
        Latest checkpoint location:           0/3000028
        Latest checkpoint's REDO location:    0/3000028
        Latest checkpoint's TimeLineID:       2
        Minimum recovery ending location:     0/0
        Min recovery ending loc's timeline:   0
        wal_level setting:                    replica
        max_connections setting:              100
        max_worker_processes setting:         8
        max_wal_senders setting:              10
        max_prepared_xacts setting:           0
        max_locks_per_xact setting:           64
        """;

    [Fact]
    public void ReadsWhatTheHaEngineNeeds()
    {
        var c = ControlData.Parse(Output);
        Assert.Equal("7713802094976264831", c.SystemIdentifier);
        Assert.Equal(DatabaseClusterState.ShutDown, c.State);
        Assert.True(c.CleanPrimaryShutdown);
        Assert.Equal(0x3000028, c.CheckpointLsn);
        Assert.Equal(2, c.CheckpointTimeline);
        Assert.Equal(new HotStandbySettings(100, 8, 10, 0, 64), c.HotStandby);
    }

    [Theory]
    [InlineData("shut down in recovery", DatabaseClusterState.ShutDownInRecovery)]
    [InlineData("in production", DatabaseClusterState.InProduction)]
    [InlineData("in archive recovery", DatabaseClusterState.InArchiveRecovery)]
    [InlineData("something new", DatabaseClusterState.Unknown)]
    public void OnlyAPrimaryShutDownCleanlyCountsAsClean(string state, DatabaseClusterState expected)
    {
        var c = ControlData.Parse(Output.Replace("shut down", state));
        Assert.Equal(expected, c.State);
        Assert.False(c.CleanPrimaryShutdown);
    }

    [Fact]
    public void AMissingLineIsNamed() =>
        Assert.Contains("max_connections setting", Assert.Throws<FormatException>(() => ControlData.Parse(Output.Replace("max_connections setting", "x"))).Message);

    [Fact]
    public void HotStandbySettingsCompareSettingBySetting()
    {
        var a = new HotStandbySettings(50, 8, 10, 0, 64);
        var b = new HotStandbySettings(100, 8, 10, 0, 32);
        Assert.Equal(new HotStandbySettings(100, 8, 10, 0, 64), a.Max(b));
        Assert.False(a.Covers(b));
        Assert.True(a.Max(b).Covers(b));
        Assert.Equal("max_connections 50 < 100", a.ShortfallAgainst(b));
    }

    [Fact]
    public void AReplicaIsRenderedWithAtLeastTheHotStandbyFloor()
    {
        var cluster = TestClusters.Parse(TestClusters.ThreeNodes.Replace("max_connections: 200", "max_connections: 50"));
        var ctx = TestClusters.Context(cluster, "pg2", "pg1") with
        {
            Hardware = new HardwareProfile(1L << 30, 2, StorageKind.Ssd, 50),
            HotStandbyFloor = new HotStandbySettings(100, 8, 10, 5, 64),
        };
        var conf = PostgresConfRenderer.Render(ctx);
        Assert.Matches(@"(?m)^max_connections = 100 .*\n(.*\n)*max_prepared_transactions = 5 ", conf);
        Assert.True(conf.LastIndexOf("max_connections = 100", StringComparison.Ordinal) > conf.LastIndexOf("max_connections = 50", StringComparison.Ordinal));
        var noFloor = PostgresConfRenderer.Render(ctx with { HotStandbyFloor = null });
        Assert.DoesNotContain("Hot standby: at least", noFloor);
    }
}
