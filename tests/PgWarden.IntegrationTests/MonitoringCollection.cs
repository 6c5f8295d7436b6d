namespace PgWarden.IntegrationTests;

/// <summary>The monitoring test classes share one cluster (<see cref="MonitoringClusterFixture"/>, subnet 61).</summary>
[CollectionDefinition(Name)]
public sealed class MonitoringCollection : ICollectionFixture<MonitoringClusterFixture>
{
    public const string Name = "Monitoring";
}
