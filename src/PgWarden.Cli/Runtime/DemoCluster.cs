namespace PgWarden.Cli.Runtime;

/// <summary>The embedded default: three nodes on 127.0.0.1/.2/.3 and two PgBouncers on 6432/6433.</summary>
public static class DemoCluster
{
    public static string Yaml(string name = "demo") => $$"""
        # PgWarden demo cluster, created by `pgwarden up`. See examples/cluster.yaml for every key.
        cluster: {{name}}
        postgres:
          version: 15
          os_user: postgres
          max_connections: 200
        # Three nodes share this machine: tune each for a share of it rather than the whole host.
        hardware:
          ram: 2GB
          cpus: 2
          storage: ssd
        database:
          name: bookreader
          app_user: bookreader_app
          replication_user: replicator
          app_networks: [127.0.0.1/32]
        nodes:
          - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }
          - { name: pg2, address: 127.0.0.2, port: 5532, api_port: 8008 }
          - { name: pg3, address: 127.0.0.3, port: 5532, api_port: 8008 }
        poolers:
          - { name: pgb1, address: 127.0.0.1, port: 6432 }
          - { name: pgb2, address: 127.0.0.1, port: 6433 }

        """;
}
