using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>One healthy cluster shared by the read-mostly tests of a class (saves a cold start per test).</summary>
public sealed class RunningClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new(subnet: 42);

    public async Task InitializeAsync() => await Cluster.UpAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
