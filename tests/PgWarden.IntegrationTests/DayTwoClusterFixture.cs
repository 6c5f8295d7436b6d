using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>One cluster (subnet 170) shared by the day-2 command tests: config apply, reload, restart, scheduled switchover, history.</summary>
public sealed class DayTwoClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new(subnet: 170);

    public async Task InitializeAsync() => await Cluster.UpAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
