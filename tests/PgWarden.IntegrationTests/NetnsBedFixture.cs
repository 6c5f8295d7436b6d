using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// One <see cref="NetnsBed"/> (synchronous mode, so that any lost acknowledged write is a failure)
/// shared by the tests of <see cref="NetnsPartitionTests"/>: bringing up 9 namespaces, 3 etcd
/// members, 3 nodes and 2 PgBouncers is the expensive part. Torn down also when the start fails.
/// </summary>
public sealed class NetnsBedFixture : IAsyncLifetime
{
    public NetnsBed Bed { get; } = new(synchronous: true);

    public async Task InitializeAsync()
    {
        try
        {
            await Bed.StartAsync(TimeSpan.FromSeconds(120));
        }
        catch
        {
            await Bed.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync() => await Bed.DisposeAsync();
}
