using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tests;

/// <summary>
/// Issue 13 item 6: a configuration file's problems are all reported at once, each at its own line
/// and column (a tab on line 3 used to be reported as line 1).
/// </summary>
public class ConfigProblemsTests
{
    private static ConfigException Fails(string yaml)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "c.yaml", "/tmp/base"));
        Assert.Equal(ExitCodes.ConfigError, e.ExitCode);
        return e;
    }

    [Fact]
    public void EverySemanticProblemIsListedInFileOrderWithItsLineAndColumn()
    {
        var yaml = """
            cluster: Shop
            postgres:
              version: 9
              parameters:
                port: 5999
            nodes:
              - name: pg1
                address: 127.0.0.1
                port: 70000
                api_port: 8008
              - name: pg1
                address: 127.0.0.2
                port: 5432
                api_port: 8008
                prio: 3
            dcs:
              ttl: abc
            replicas: 2
            """;

        var e = Fails(yaml);

        Assert.Equal(
        [
            "c.yaml:1:10: cluster: 'Shop' must start with a letter and use only a-z, 0-9, '_' and '-' (at most 31 characters)",
            "c.yaml:3:12: postgres.version: 9 is out of range (13..18)",
            "c.yaml:5:11: postgres.parameters.port: is managed by PgWarden and cannot be overridden here",
            "c.yaml:9:11: nodes[0].port: 70000 is out of range (1..65535)",
            "c.yaml:11:11: nodes[1].name: duplicate node name 'pg1'",
            "c.yaml:15:5: nodes[1].prio: unknown key (known keys here: address, api_port, data_dir, name, nofailover, port, priority)",
            "c.yaml:17:8: dcs.ttl: 'abc' is not a whole number",
        ], e.Problems.Take(7));
        Assert.StartsWith("c.yaml:18:1: replicas: unknown key (known keys here: ", e.Problems[7]);
        Assert.Equal(8, e.Problems.Count);
        Assert.StartsWith("c.yaml:1:10: cluster: 'Shop' must start", e.Message);
        Assert.EndsWith("(and 7 more problems; `pgwarden config check` lists them all)", e.Message);
    }

    [Fact]
    public void CrossChecksAreReportedBesideValueProblemsAtTheDuplicate()
    {
        var yaml = """
            cluster: shop
            nodes:
              - { name: pg1, address: 127.0.0.1, port: 5432, api_port: 8008, data_dir: /srv/pg }
              - { name: pg2, address: 127.0.0.1, port: 5432, api_port: 8009, data_dir: /srv/pg }
              - { name: pg3, address: 127.0.0.3, port: x, api_port: 8010 }
            """;

        var e = Fails(yaml);

        Assert.Equal(
        [
            "c.yaml:4:44: nodes[1].port: duplicate port 5432 on 127.0.0.1 (already used by nodes[0].port on 127.0.0.1)",
            "c.yaml:4:76: nodes[1].data_dir: /srv/pg is also the data_dir of node pg1; every node needs its own",
            "c.yaml:5:44: nodes[2].port: 'x' is not a whole number",
        ], e.Problems);
    }

    [Fact]
    public void AMissingRequiredKeyIsReportedOnceAtItsMappingNotAgainByItsChecks()
    {
        var yaml = """
            cluster: shop
            nodes:
              - name: pg1
                address: 127.0.0.1
                port: 5432
                api_port: 8008
              - address: 127.0.0.2
                port: 5432
            """;

        var e = Fails(yaml);

        Assert.Equal(
        [
            "c.yaml:7:5: nodes[1].name: is required",
            "c.yaml:7:5: nodes[1].api_port: is required",
        ], e.Problems);
    }

    [Fact]
    public void ATabOnLineThreeIsReportedOnLineThree()
    {
        var yaml = "cluster: shop\nnodes:\n\t- name: pg1\n";

        var e = Fails(yaml);

        Assert.Equal(["c.yaml:3:1: not valid YAML: a tab in the indentation (YAML indents with spaces only)"], e.Problems);
    }

    [Fact]
    public void EveryTabIndentedLineIsListed()
    {
        var yaml = "cluster: shop\nnodes:\n  - name: pg1\n  \taddress: 127.0.0.1\n    port: 5432\n\t\tapi_port: 8008\n";

        var e = Fails(yaml);

        Assert.Equal(
        [
            "c.yaml:4:3: not valid YAML: a tab in the indentation (YAML indents with spaces only)",
            "c.yaml:6:1: not valid YAML: a tab in the indentation (YAML indents with spaces only)",
        ], e.Problems);
    }

    [Fact]
    public void AnotherSyntaxErrorIsReportedAtItsOwnLineNotTheBlocksStart()
    {
        var yaml = "cluster: shop\nnodes:\n  - name: pg1\n    address: 127.0.0.1\n   port: 5432\n";

        var e = Fails(yaml);

        var problem = Assert.Single(e.Problems);
        Assert.Matches(@"^c\.yaml:5:\d+: not valid YAML: ", problem);
        Assert.DoesNotContain("(Line:", problem);
    }

    [Fact]
    public void AnUnclosedFlowMappingIsReportedWhereTheFileEnds()
    {
        var e = Fails("cluster: shop\nnodes: [ { name: pg1\n");

        var problem = Assert.Single(e.Problems);
        Assert.Matches(@"^c\.yaml:3:\d+: not valid YAML: ", problem);
    }

    [Fact]
    public void BackupProblemsAreListedTogetherAndATypeTypoIsOneProblem()
    {
        var yaml = """
            cluster: shop
            nodes:
              - { name: pg1, address: 127.0.0.1, port: 5432, api_port: 8008 }
            backup:
              repository: { type: s4, bucket: b }
              retention_days: 0
              schedule:
                logical: "every day"
            """;

        var e = Fails(yaml);

        Assert.Equal(3, e.Problems.Count);
        Assert.Equal("c.yaml:5:23: backup.repository.type: 's4' must be fs or s3", e.Problems[0]);
        Assert.Equal("c.yaml:6:19: backup.retention_days: 0 is out of range (1..3650)", e.Problems[1]);
        Assert.StartsWith("c.yaml:8:14: backup.schedule.logical: 'every day' is not a cron expression", e.Problems[2]);
    }

    [Fact]
    public void AValidFileStillLoads()
    {
        var c = ConfigLoader.Parse("cluster: shop\nnodes:\n  - { name: pg1, address: 127.0.0.1, port: 5432, api_port: 8008 }\n", "c.yaml", "/tmp/base");
        Assert.Equal("pg1", c.BootstrapNode.Name);
    }
}
