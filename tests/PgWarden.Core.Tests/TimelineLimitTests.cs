using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

public class TimelineLimitTests
{
    [Theory]
    [InlineData("00000003.history", 2L, true)]
    [InlineData("00000002.history", 2L, false)]
    [InlineData("0000000A.history", 9L, true)]
    [InlineData("00000003000000000000000A", 2L, false)]
    [InlineData("00000003.history", null, false)]
    public void OnlyHistoryFilesOfNewerTimelinesAreRefused(string file, long? limit, bool refused) =>
        Assert.Equal(refused, TimelineLimit.Refuses(file, limit));

    [Fact]
    public void TheLimitIsReadForTheNodeOwningTheDataDirectory()
    {
        var dir = Directory.CreateTempSubdirectory("pgwarden-limit-").FullName;
        try
        {
            var cluster = Config.ConfigLoader.Parse(TestClusters.ThreeNodes, "test.yaml", dir);
            var pg2 = cluster.Node("pg2");
            Directory.CreateDirectory(pg2.HomeDir(cluster));
            File.WriteAllText(TimelineLimit.PathFor(cluster, pg2), "4\n");
            Assert.Equal(4, TimelineLimit.Read(cluster, pg2.DataDir + "/"));
            Assert.Null(TimelineLimit.Read(cluster, cluster.Node("pg1").DataDir));
            Assert.Null(TimelineLimit.Read(cluster, "/somewhere/else"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
