using PgWarden.Core.Rendering;

namespace PgWarden.Core.Tests;

public class PgHbaRendererTests
{
    private readonly Config.ClusterConfig _cluster = TestClusters.Demo();
    private readonly string _hba;
    private readonly List<string[]> _rules;

    public PgHbaRendererTests()
    {
        _hba = PgHbaRenderer.Render(TestClusters.Context(_cluster, "pg2", "pg1"));
        _rules = _hba.Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToList();
    }

    [Fact]
    public void OnlyScramAndPeer()
    {
        Assert.DoesNotContain("md5", _hba);
        Assert.DoesNotContain("trust", _hba);
        Assert.All(_rules, r => Assert.True(
            r[^1] == "scram-sha-256" || r[^2..] is ["peer", "map=pgwarden"], string.Join(' ', r)));
    }

    [Fact]
    public void NoRuleAllowsAllUsersOnAllDatabases()
    {
        Assert.All(_rules, r => Assert.NotEqual("all all", $"{r[1]} {r[2]}"));
        Assert.All(_rules, r => Assert.NotEqual("all", r[2]));
    }

    [Fact]
    public void ReplicationOnlyFromTheNodes()
    {
        var replication = _rules.Where(r => r[1] == "replication").ToList();

        Assert.All(replication, r => Assert.Equal(["hostssl", "replication", "replicator"], r[..3]));
        Assert.Equal(["127.0.0.1/32", "127.0.0.2/32", "127.0.0.3/32"], replication.Select(r => r[3]));
    }

    [Fact]
    public void AppUserOnlyOnTheAppDatabase()
    {
        var app = _rules.Where(r => r[2] == "bookreader_app").ToList();

        Assert.All(app, r => Assert.Equal("bookreader", r[1]));
        // Local socket, the PgBouncers' address (both on 127.0.0.1: once) and the app network.
        Assert.Equal(["local", "127.0.0.1/32", "10.0.0.0/16"], app.Select(r => r[0] == "local" ? "local" : r[3]));
    }

    [Fact]
    public void SuperuserLocallyByPeerWithMapAndOverTcpOnlyFromNodes()
    {
        var superuser = _rules.Where(r => r[2] == "postgres").ToList();

        Assert.Equal(["local", "all", "postgres", "peer", "map=pgwarden"], superuser[0]);
        Assert.Equal(["127.0.0.1/32", "127.0.0.2/32", "127.0.0.3/32"], superuser.Skip(1).Select(r => r[3]));
        Assert.All(superuser.Skip(1), r => Assert.Equal("hostssl", r[0]));
    }

    [Fact]
    public void EveryRuleIsAccountedFor()
    {
        // 2 local + 3 superuser + 3 replication + 2 app host rules.
        Assert.Equal(10, _rules.Count);
        Assert.DoesNotContain(_rules, r => r[0] is not ("local" or "hostssl"));
    }

    [Fact]
    public void IdentMapsTheAdminOsUsersToTheSuperuser()
    {
        var ident = PgHbaRenderer.RenderIdent(TestClusters.Context(_cluster, "pg1", null));
        var maps = ident.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)));

        Assert.Equal(["pgwarden postgres postgres", "pgwarden pgwarden postgres"], maps);
    }

    [Theory]
    [InlineData("10.1.2.3", "10.1.2.3/32")]
    [InlineData("::1", "::1/128")]
    [InlineData("db1.example.com", "db1.example.com")]
    public void CidrOfAnAddress(string address, string expected)
    {
        Assert.Equal(expected, PgHbaRenderer.Cidr(address));
    }
}
