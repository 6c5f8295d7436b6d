using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// What the HA-safety checker (<see cref="FenceProbe"/>, <see cref="WriteProbe"/>, <see cref="ClusterFacts"/>)
/// needs of a cluster: its nodes (named pg1…pgN) and how to reach them. Implemented by the loopback
/// <see cref="TestCluster"/> and by the network-namespace bed <see cref="NetnsBed"/>.
/// </summary>
public interface IProbeTarget
{
    int NodeCount { get; }

    /// <summary>The name of node <paramref name="node"/> (1-based): pg1, pg2, …</summary>
    string NodeName(int node);

    /// <summary>A superuser connection straight to a node's PostgreSQL (2 s connect timeout, 5 s command timeout, no pooling).</summary>
    NpgsqlConnection Direct(int node, string database = "bookreader");

    /// <summary>The app's connection through PgBouncer <paramref name="pooler"/> (1-based).</summary>
    NpgsqlConnection ThroughPooler(int pooler, string database = "bookreader");
}
