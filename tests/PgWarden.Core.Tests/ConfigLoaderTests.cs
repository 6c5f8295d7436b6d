using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Tuning;
using PgWarden.Core.Units;

namespace PgWarden.Core.Tests;

public class ConfigLoaderTests
{
    private const string TwoNodes = """
        cluster: shop
        nodes:
          - name: pg1
            address: 127.0.0.1
            port: 5432
            api_port: 8008
          - name: pg2
            address: 127.0.0.1
            port: 5433
            api_port: 8009
        """;

    private static ConfigException Fails(string yaml)
    {
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(yaml));
        Assert.Equal(ExitCodes.ConfigError, e.ExitCode);
        Assert.StartsWith("test.yaml", Plain(e));
        return e;
    }

    /// <summary>The message without its line:column (asserted by <see cref="ConfigProblemsTests"/>).</summary>
    private static string[] PlainProblems(ConfigException e) =>
        [.. e.Problems.Select(p => System.Text.RegularExpressions.Regex.Replace(p, @"^test\.yaml:\d+:\d+:", "test.yaml:"))];

    private static string Plain(ConfigException e) => System.Text.RegularExpressions.Regex.Replace(e.Message, @"^test\.yaml:\d+:\d+:", "test.yaml:");

    [Theory]
    [InlineData("sales-ro")]
    [InlineData("sales-pooler")]
    public void AClusterNameThatIsAnotherClustersEtcdRoleOrUserIsRefused(string name) =>
        Assert.Contains("may not end in '-ro' or '-pooler'", Plain(Fails(TwoNodes.Replace("cluster: shop", $"cluster: {name}"))));

    [Fact]
    public void MinimalConfigGetsTheDefaults()
    {
        var c = TestClusters.Parse(TwoNodes);

        Assert.Equal("shop", c.Name);
        Assert.Equal("/tmp/base", c.BaseDir);
        Assert.Equal(15, c.Postgres.Version);
        Assert.Equal("/usr/lib/postgresql/15/bin", c.Postgres.BinDir);
        Assert.Equal("postgres", c.Postgres.OsUser);
        Assert.Equal(200, c.Postgres.MaxConnections);
        Assert.Empty(c.Postgres.Parameters);
        Assert.Null(c.Hardware);
        Assert.Equal("bookreader", c.Database.Name);
        Assert.Equal("bookreader_app", c.Database.AppUser);
        Assert.Equal("replicator", c.Database.ReplicationUser);
        Assert.Equal("postgres", c.Database.Superuser);
        Assert.Equal("pgbouncer_admin", c.Database.PoolerAdminUser);
        Assert.Equal(["127.0.0.1/32"], c.Database.AppNetworks.ToArray());
        Assert.Equal(["pg1", "pg2"], c.Nodes.Select(n => n.Name));
        Assert.Equal("/tmp/base/nodes/pg1/data", c.Nodes[0].DataDir);
        Assert.Equal("/tmp/base/nodes/pg2/data", c.Nodes[1].DataDir);
        Assert.Equal(5433, c.Nodes[1].Port);
        Assert.Equal(8009, c.Nodes[1].ApiPort);
        Assert.Equal(100, c.Nodes[1].Priority);
        Assert.Equal("pg2_slot", c.Nodes[1].SlotName);
        Assert.Equal("https://127.0.0.1:8009", c.Nodes[1].ApiUrl);
        Assert.Equal("pg1", c.BootstrapNode.Name);
        Assert.Equal("/tmp/base/secrets.yaml", c.SecretsFile);
        Assert.Empty(c.Poolers);
    }

    [Fact]
    public void FullConfigParses()
    {
        var yaml = """
            cluster: demo-1
            postgres:
              version: 16
              bin_dir: /opt/pg16/bin
              os_user: pgsql
              max_connections: 300
              parameters:
                work_mem: 64MB
                pg_stat_statements.max: 5000
            hardware: { ram: 32GB, cpus: 8, storage: HDD }
            database:
              name: books
              app_user: books_app
              replication_user: repl
              pooler_admin_user: bouncer
              app_networks: [10.0.0.0/16, 192.168.1.0/24]
            nodes:
              - { name: pg-a, address: 10.0.0.1, port: 5432, api_port: 8008, data_dir: /srv/pg/a, priority: 200 }
              - { name: pg-b, address: db2.example.com, port: 5432, api_port: 8008, data_dir: data/b }
            poolers:
              - name: pgb1
                address: 10.0.0.1
                port: 6432
                settings: { default_pool_size: 20, query_timeout: 30 }
            """;

        var c = TestClusters.Parse(yaml);

        Assert.Equal("demo-1", c.Name);
        Assert.Equal(new PostgresSettings(16, "/opt/pg16/bin", "pgsql", 300, c.Postgres.Parameters), c.Postgres);
        Assert.Equal([new("work_mem", "64MB"), new("pg_stat_statements.max", "5000")], c.Postgres.Parameters.ToArray());
        Assert.Equal(new HardwareHints(32 * ByteSize.GB, 8, StorageKind.Hdd), c.Hardware);
        Assert.Equal("books", c.Database.Name);
        Assert.Equal("books_app", c.Database.AppUser);
        Assert.Equal("repl", c.Database.ReplicationUser);
        Assert.Equal("bouncer", c.Database.PoolerAdminUser);
        Assert.Equal(["10.0.0.0/16", "192.168.1.0/24"], c.Database.AppNetworks.ToArray());
        Assert.Equal("/srv/pg/a", c.Nodes[0].DataDir);
        Assert.Equal(200, c.Nodes[0].Priority);
        Assert.Equal("pg_a_slot", c.Nodes[0].SlotName);
        Assert.Equal("db2.example.com", c.Nodes[1].Address);
        Assert.Equal("/tmp/base/data/b", c.Nodes[1].DataDir);
        var pooler = Assert.Single(c.Poolers);
        Assert.Equal(("pgb1", "10.0.0.1", 6432), (pooler.Name, pooler.Address, pooler.Port));
        Assert.Equal([new("default_pool_size", "20"), new("query_timeout", "30")], pooler.Settings.ToArray());
        Assert.Equal("/tmp/base/poolers/pgb1", pooler.HomeDir(c));
    }

    [Fact]
    public void UnknownTopLevelKey()
    {
        var e = Fails(TwoNodes + "\nreplicas: 2\n");
        Assert.StartsWith("test.yaml: replicas: unknown key", Plain(e));
    }

    [Fact]
    public void UnknownKeyInsideSecondNode()
    {
        var e = Fails(TwoNodes.Replace("api_port: 8009", "api_port: 8009\n    prio: 3"));
        Assert.StartsWith("test.yaml: nodes[1].prio: unknown key", Plain(e));
        Assert.Contains("nodes[1]", Plain(e));
    }

    [Theory]
    [InlineData("port: 5433", "port: 70000", "test.yaml: nodes[1].port: 70000 is out of range (1..65535)")]
    [InlineData("port: 5432", "port: 0", "test.yaml: nodes[0].port: 0 is out of range (1..65535)")]
    [InlineData("port: 5432", "port: fivefour", "test.yaml: nodes[0].port: 'fivefour' is not a whole number")]
    [InlineData("api_port: 8009", "api_port: [1, 2]", "test.yaml: nodes[1].api_port: must be a single value, not a list or mapping")]
    [InlineData("    api_port: 8009", "", "test.yaml: nodes[1].api_port: is required")]
    public void BadPorts(string find, string replace, string expected)
    {
        Assert.Equal(expected, Plain(Fails(TwoNodes.Replace(find, replace))));
    }

    [Fact]
    public void DuplicateNodeName()
    {
        var e = Fails(TwoNodes.Replace("name: pg2", "name: pg1"));
        Assert.Equal("test.yaml: nodes[1].name: duplicate node name 'pg1'", Plain(e));
    }

    [Fact]
    public void DuplicatePortOnTheSameAddress()
    {
        var e = Fails(TwoNodes.Replace("port: 5433", "port: 5432"));
        Assert.Contains("duplicate port", Plain(e));
        Assert.Equal("test.yaml: nodes[1].port: duplicate port 5432 on 127.0.0.1 (already used by nodes[0].port on 127.0.0.1)", Plain(e));
    }

    [Fact]
    public void PoolerPortClashingWithAnApiPort()
    {
        var e = Fails(TwoNodes + "\npoolers:\n  - { name: pgb1, address: 127.0.0.1, port: 8008 }\n");
        // TwoNodes' different ports are a second problem once there are poolers: both are listed.
        Assert.Equal(2, e.Problems.Count);
        Assert.Contains("test.yaml: poolers[0].port: duplicate port 8008 on 127.0.0.1 (already used by nodes[0].api_port on 127.0.0.1)", PlainProblems(e));
    }

    [Fact]
    public void SamePortOnDifferentAddressesIsFine()
    {
        var c = TestClusters.Demo();
        Assert.Equal([5532, 5532, 5532], c.Nodes.Select(n => n.Port));
    }

    [Fact]
    public void SharedDataDir()
    {
        var e = Fails(TwoNodes.Replace("api_port: 8008", "api_port: 8008\n    data_dir: /srv/pg")
            .Replace("api_port: 8009", "api_port: 8009\n    data_dir: /srv/pg"));
        Assert.Equal("test.yaml: nodes[1].data_dir: /srv/pg is also the data_dir of node pg1; every node needs its own", Plain(e));
    }

    [Fact]
    public void MissingNodes()
    {
        var e = Fails("cluster: shop\n");
        Assert.Equal("test.yaml: nodes: at least one node is required", Plain(e));
    }

    [Fact]
    public void NodesNotAList()
    {
        var e = Fails("cluster: shop\nnodes: pg1\n");
        Assert.Equal("test.yaml: nodes: must be a list", Plain(e));
    }

    [Fact]
    public void MissingNodeName()
    {
        var e = Fails(TwoNodes.Replace("  - name: pg2\n    address", "  - address"));
        Assert.Equal("test.yaml: nodes[1].name: is required", Plain(e));
    }

    [Fact]
    public void MissingClusterName()
    {
        var e = Fails(TwoNodes.Replace("cluster: shop\n", ""));
        Assert.Equal("test.yaml: cluster: is required", Plain(e));
    }

    [Theory]
    [InlineData("Shop")]
    [InlineData("1shop")]
    [InlineData("my shop")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    public void InvalidClusterName(string name)
    {
        var e = Fails(TwoNodes.Replace("cluster: shop", $"cluster: \"{name}\""));
        Assert.StartsWith($"test.yaml: cluster: '{name}' must start with a letter", Plain(e));
    }

    [Fact]
    public void InvalidAddress()
    {
        var e = Fails(TwoNodes.Replace("address: 127.0.0.1\n    port: 5433", "address: \"not an/address\"\n    port: 5433"));
        Assert.Equal("test.yaml: nodes[1].address: 'not an/address' is not an IP address or host name", Plain(e));
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("100MB")]
    public void BadHardwareRam(string ram)
    {
        var e = Fails(TwoNodes + $"\nhardware: {{ ram: {ram}, cpus: 4 }}\n");
        Assert.Equal($"test.yaml: hardware.ram: '{ram}' is not a memory size between 256MB and 64TB (e.g. 16GB)", Plain(e));
    }

    [Fact]
    public void BadStorage()
    {
        var e = Fails(TwoNodes + "\nhardware: { ram: 16GB, cpus: 4, storage: floppy }\n");
        Assert.Equal("test.yaml: hardware.storage: 'floppy' must be one of ssd, hdd, san", Plain(e));
    }

    [Fact]
    public void BadAppNetwork()
    {
        var e = Fails(TwoNodes + "\ndatabase: { app_networks: [10.0.0.0/99] }\n");
        Assert.Equal("test.yaml: database.app_networks: '10.0.0.0/99' is not a network in CIDR form (e.g. 10.0.0.0/16)", Plain(e));
    }

    [Fact]
    public void AppUserMayNotBeTheReplicationUser()
    {
        var e = Fails(TwoNodes + "\ndatabase: { app_user: replicator }\n");
        Assert.StartsWith("test.yaml: database.app_user: the app, replication and pooler admin roles must be different", Plain(e));
    }

    [Fact]
    public void PoolerSettingThatIsNotTunable()
    {
        var e = Fails(TwoNodes + "\npoolers:\n  - { name: pgb1, address: 127.0.0.1, port: 6432, settings: { auth_type: trust } }\n");
        Assert.Contains(PlainProblems(e), p => p.StartsWith("test.yaml: poolers[0].settings.auth_type: is not a PgBouncer setting PgWarden lets you override", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("port")]
    [InlineData("listen_addresses")]
    [InlineData("primary_conninfo")]
    [InlineData("wal_level")]
    public void ParameterOverridingAManagedParameter(string parameter)
    {
        var e = Fails(TwoNodes + $"\npostgres:\n  parameters:\n    {parameter}: x\n");
        Assert.Equal($"test.yaml: postgres.parameters.{parameter}: is managed by PgWarden and cannot be overridden here", Plain(e));
    }

    [Fact]
    public void ParameterWithAnInvalidName()
    {
        var e = Fails(TwoNodes + "\npostgres:\n  parameters:\n    Work-Mem: 4MB\n");
        Assert.Equal("test.yaml: postgres.parameters.Work-Mem: is not a valid PostgreSQL parameter name", Plain(e));
    }

    [Fact]
    public void PostgresVersionOutOfRange()
    {
        var e = Fails(TwoNodes + "\npostgres: { version: 9 }\n");
        Assert.Equal("test.yaml: postgres.version: 9 is out of range (13..18)", Plain(e));
    }

    [Fact]
    public void InvalidYaml()
    {
        var e = Fails("cluster: shop\nnodes: [ { name: pg1\n");
        Assert.Matches(@"^test\.yaml:\d+:\d+: not valid YAML: ", e.Message);
    }

    [Fact]
    public void NotAMapping()
    {
        var e = Fails("- just\n- a list\n");
        Assert.Equal("test.yaml: must be a YAML mapping with at least 'cluster' and 'nodes'", Plain(e));
    }

    [Fact]
    public void UnknownNodeLookupNamesTheNodesAndIsNotFound()
    {
        var e = Assert.Throws<PgWardenException>(() => TestClusters.Parse(TwoNodes).Node("pg9"));
        Assert.Equal("node 'pg9' is not in cluster 'shop' (nodes: pg1, pg2)", e.Message);
        Assert.Equal(ExitCodes.NotFound, e.ExitCode);
    }
}
