// Regressions for bugs the unit-test review found: strict storage names, wildcard port clashes, slot-name clashes, one port with poolers, RAM bounds.
using PgWarden.Core.Errors;
using PgWarden.Core.Rendering;
using PgWarden.Core.Tuning;

namespace PgWarden.Core.Tests;

public class RegressionTests
{
    private const string TwoNodes = """
        cluster: shop
        nodes:
          - { name: pg1, address: 127.0.0.1, port: 5432, api_port: 8008 }
          - { name: pg2, address: 127.0.0.1, port: 5433, api_port: 8009 }
        """;

    [Theory]
    [InlineData("7")]
    [InlineData("1")]
    [InlineData("ssd, hdd")]
    public void StorageMustBeANamedKind(string storage)
    {
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(TwoNodes + $"\nhardware: {{ ram: 16GB, cpus: 4, storage: \"{storage}\" }}\n"));
        Assert.Contains("must be one of ssd, hdd, san", e.Message);
    }

    [Fact]
    public void WildcardAddressOverlapsSamePort()
    {
        var yaml = TwoNodes.Replace("{ name: pg2, address: 127.0.0.1, port: 5433", "{ name: pg2, address: 0.0.0.0, port: 5432");
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(yaml));
        Assert.Contains("duplicate port", e.Message);
    }

    [Fact]
    public void SlotNamesMustBeUnique()
    {
        var yaml = TwoNodes.Replace("name: pg1", "name: pg-a").Replace("name: pg2", "name: pg_a");
        Assert.Throws<ConfigException>(() => TestClusters.Parse(yaml));
    }

    [Fact]
    public void PoolersNeedNodesOnOnePort()
    {
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(TwoNodes.Replace("api_port: 8009 }", "api_port: 8009 }\n  - { name: pg3, address: 127.0.0.1, port: 5434, api_port: 8010 }")
            + "\npoolers:\n  - { name: pgb1, address: 127.0.0.1, port: 6432 }\n"));
        Assert.Contains("every node needs the same port", e.Message);
    }

    [Fact]
    public void AbsurdRamIsRejected()
    {
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(TwoNodes + "\nhardware: { ram: 3000000TB, cpus: 4 }\n"));
        Assert.Contains("between 256MB and 64TB", e.Message);
    }
}
