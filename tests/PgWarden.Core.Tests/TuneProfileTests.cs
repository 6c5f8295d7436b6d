using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Tuning;
using PgWarden.Core.Units;

namespace PgWarden.Core.Tests;

/// <summary>Issue 13 item 6: `tune --config` computes for the cluster's hardware and max_connections, not the host's.</summary>
public class TuneProfileTests
{
    private static readonly HardwareProfile Host = new(2 * ByteSize.GB, 2, StorageKind.Hdd, 200);

    private static HardwareProfile NoHost() => throw new InvalidOperationException("the host must not be read");

    [Fact]
    public void ClusterHardwareAndMaxConnectionsWinOverTheHost()
    {
        var cluster = TestClusters.Parse(TestClusters.ThreeNodes.Replace("max_connections: 200", "max_connections: 300"));

        var hw = TuneProfile.Resolve(cluster, null, null, null, null, NoHost);

        Assert.Equal(new HardwareProfile(16 * ByteSize.GB, 4, StorageKind.Ssd, 300), hw);
    }

    [Fact]
    public void TheClusterTuneComputesIsWhatTheAgentRendersWith()
    {
        var cluster = TestClusters.Demo();

        var hw = TuneProfile.Resolve(cluster, null, null, null, null, NoHost);

        Assert.Equal(HostDetector.Profile(cluster.Hardware, cluster.Postgres.MaxConnections), hw);
        Assert.Contains(TuningCalculator.Compute(hw), t => t.Name == "shared_buffers" && t.Value == "4GB");
    }

    [Fact]
    public void OptionsOverrideTheClusterOneByOne()
    {
        var cluster = TestClusters.Demo();

        var hw = TuneProfile.Resolve(cluster, "32GB", null, 500, "hdd", NoHost);

        Assert.Equal(new HardwareProfile(32 * ByteSize.GB, 4, StorageKind.Hdd, 500), hw);
    }

    [Fact]
    public void AClusterWithoutHardwareUsesTheHostButItsOwnMaxConnections()
    {
        var cluster = TestClusters.Parse(TestClusters.ThreeNodes.Replace("hardware:\n  ram: 16GB\n  cpus: 4\n  storage: ssd\n", "").Replace("max_connections: 200", "max_connections: 120"));
        Assert.Null(cluster.Hardware);

        var hw = TuneProfile.Resolve(cluster, null, null, null, null, () => Host);

        Assert.Equal(Host with { MaxConnections = 120 }, hw);
    }

    [Fact]
    public void NoClusterMeansTheHostAnd200Connections()
    {
        Assert.Equal(Host, TuneProfile.Resolve(null, null, null, null, null, () => Host));
    }

    [Theory]
    [InlineData("lots", null, null, null, "--ram: 'lots'")]
    [InlineData(null, 0, null, null, "--cpus: 0 is out of range")]
    [InlineData(null, null, 5, null, "--connections: 5 is out of range")]
    [InlineData(null, null, null, "floppy", "--storage: 'floppy' must be one of ssd, hdd, san")]
    public void BadOptionsAreUsageErrors(string? ram, int? cpus, int? connections, string? storage, string message)
    {
        var e = Assert.Throws<PgWardenException>(() => TuneProfile.Resolve(TestClusters.Demo(), ram, cpus, connections, storage, NoHost));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.StartsWith(message, e.Message);
    }
}
