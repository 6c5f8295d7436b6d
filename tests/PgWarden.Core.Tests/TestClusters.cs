using PgWarden.Core.Config;
using PgWarden.Core.Rendering;
using PgWarden.Core.Tuning;
using PgWarden.Core.Units;

namespace PgWarden.Core.Tests;

/// <summary>Shared cluster fixtures: three nodes on 127.0.0.1/.2/.3 and two PgBouncers, like the demo cluster.</summary>
internal static class TestClusters
{
    public const string BaseDir = "/tmp/base";

    public const string ThreeNodes = """
        cluster: demo
        postgres:
          version: 15
          max_connections: 200
        hardware:
          ram: 16GB
          cpus: 4
          storage: ssd
        database:
          app_networks: [10.0.0.0/16]
        nodes:
          - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }
          - { name: pg2, address: 127.0.0.2, port: 5532, api_port: 8008 }
          - { name: pg3, address: 127.0.0.3, port: 5532, api_port: 8008 }
        poolers:
          - { name: pgb1, address: 127.0.0.1, port: 6432 }
          - { name: pgb2, address: 127.0.0.1, port: 6433 }
        """;

    public static ClusterConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "test.yaml", BaseDir);

    public static ClusterConfig Demo() => Parse(ThreeNodes);

    /// <summary>The runbook's reference host: 16 GB, 4 CPUs, 200 connections, SSD.</summary>
    public static HardwareProfile RunbookHost => new(16 * ByteSize.GB, 4, StorageKind.Ssd, 200);

    public static NodeRenderContext Context(ClusterConfig cluster, string node, string? upstream) =>
        new(cluster, cluster.Node(node), RunbookHost, upstream is null ? null : cluster.Node(upstream), ["postgres", "pgwarden"]);
}
