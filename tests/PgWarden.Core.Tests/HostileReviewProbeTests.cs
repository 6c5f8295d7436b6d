using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

/// <summary>Hostile review of issue 13: probes that held up (duplicate keys, --at parsing), kept as guards.</summary>
public class HostileReviewProbeTests
{
    [Fact]
    public void DuplicateKeyIsReportedAtItsLine()
    {
        var yaml = TestClusters.ThreeNodes.Replace("  max_connections: 200\n", "  max_connections: 200\n  max_connections: 300\n");
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(yaml));
        Assert.Contains("test.yaml:5:", string.Join("|", e.Problems));
    }

    [Theory]
    [InlineData("+0s")]
    [InlineData("2026-02-30T00:00:00Z")]
    [InlineData("yesterday")]
    [InlineData("+-5m")]
    public void ScheduleTimeRejects(string text) => Assert.Null(ScheduleTime.Parse(text, DateTimeOffset.UnixEpoch));

    [Theory]
    [InlineData(" 2026-12-01T02:30:00Z ", "2026-12-01T02:30:00+00:00")]
    [InlineData("2026-12-01 02:30+01:00", "2026-12-01T01:30:00+00:00")]
    public void ScheduleTimeAccepts(string text, string utc) =>
        Assert.Equal(DateTimeOffset.Parse(utc), ScheduleTime.Parse(text, DateTimeOffset.UnixEpoch));
}
