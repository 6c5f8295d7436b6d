using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// One cluster on 127.0.190.0/24 with TLS as a new cluster gets it (no tls: section: generated CA and
/// host certificates), the API requiring client certificates and an allowlist of 127.0.0.1 (where
/// every loopback connection of the CLI and the agents comes from).
/// </summary>
public sealed class TlsClusterFixture : IAsyncLifetime
{
    public const int Subnet = 190;

    public TestCluster Cluster { get; } = new(subnet: Subnet, extraYaml: "api: { require_client_cert: true, allowlist: [127.0.0.1/32] }");

    public async Task InitializeAsync() => await Cluster.UpAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
