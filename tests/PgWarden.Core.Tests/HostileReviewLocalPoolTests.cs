using Npgsql;
using PgWarden.Agent;
using PgWarden.Core.Config;
using PgWarden.Core.Security;

namespace PgWarden.Core.Tests;

/// <summary>
/// Hostile review 14, the "pooled connection from before PostgreSQL's last restart" class. The agent's
/// LocalSuperuser data source serves the safety paths — synchronous_standby_names set before every
/// promotion (uncaught there: a failure abandons the promotion and releases the lease), the slots, the
/// checkpoint after promotion. Its pool is cleared only when the supervisor starts a postmaster; a
/// postmaster that reinitialises in place (one backend SIGKILLed or OOM-killed: every other backend is
/// terminated, the postmaster stays) is no start, so idle pooled connections stay broken and the next
/// promotion fails on "Exception while writing to stream" as PromoteAsync's own connection did.
/// </summary>
public sealed class HostileReviewLocalPoolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-pool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TheAgentsLocalSuperuserConnectionsAreNotPooled()
    {
        var cluster = ConfigLoader.Parse("""
            cluster: pool
            hardware: { ram: 1GB, cpus: 2, storage: ssd }
            tls: disabled
            nodes:
              - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }
              - { name: pg2, address: 127.0.0.2, port: 5532, api_port: 8008 }
            """, Path.Combine(_dir, "cluster.yaml"), _dir);
        await using var agent = new AgentContext(cluster, cluster.Node("pg1"), ClusterSecrets.Generate(), dcs: null!);
        Assert.False(new NpgsqlConnectionStringBuilder(agent.LocalSuperuser.ConnectionString).Pooling);
        Assert.False(new NpgsqlConnectionStringBuilder(agent.StatusSource.ConnectionString).Pooling);
    }
}
