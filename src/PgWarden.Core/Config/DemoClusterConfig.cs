namespace PgWarden.Core.Config;

/// <summary>
/// The configuration `pgwarden up` writes for its demo cluster: three nodes on 127.0.0.1/.2/.3, two
/// PgBouncers on 6432/6433, and backups from day one — WAL archiving on every node and the runbook's
/// schedules into a filesystem repository at &lt;cluster dir&gt;/backups (kept by `down --purge`).
/// </summary>
public static class DemoClusterConfig
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
        # Backups from day one, as the runbook's architecture has them: WAL archiving on every node into a
        # filesystem repository inside the cluster directory (kept by `down --purge`), the runbook's schedules.
        backup:
          repository: { type: fs, path: backups }
          retention_days: 30
          archive_timeout: 300
          schedule:
            logical: "0 2 * * *"
            physical: "0 3 * * 0"
            verify: "0 5 * * 0"

        """;
}
