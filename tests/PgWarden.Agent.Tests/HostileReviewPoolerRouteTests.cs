using PgWarden.Pooler;

namespace PgWarden.Agent.Tests;

/// <summary>
/// Hostile review of the switchover's pooler-side resume: `pgwarden switchover` resumes a PgBouncer
/// once SHOW DATABASES routes the database to the target. It compared the host only, but nodes may
/// share an address with different ports (ConfigLoader reports only a duplicate address *and* port;
/// the ini routes with host= and port=): with pg1 at 127.0.0.1:5432 and pg2 at 127.0.0.1:5433 the
/// command resumed every PgBouncer at once, still routing to the old primary, so the pause protected
/// nothing (the paused transactions ran on pg1 as it shut down).
/// </summary>
public sealed class HostileReviewPoolerRouteTests
{
    // psql -A -t: name|host|port|database|force_user|pool_size|...
    private const string RoutedToPg1 = "appdb|127.0.0.1|5432|appdb||20|0|||0|0|0|0\npgbouncer||6432|pgbouncer|pgbouncer|2|0|statement||0|0|0|0\n";

    [Fact]
    public void ARouteToTheOldPrimaryOnTheSameAddressIsNotARouteToTheTarget()
    {
        Assert.False(PgBouncerAdmin.RoutesTo(RoutedToPg1, "appdb", "127.0.0.1", 5433));
        Assert.True(PgBouncerAdmin.RoutesTo(RoutedToPg1, "appdb", "127.0.0.1", 5432));
        Assert.False(PgBouncerAdmin.RoutesTo(RoutedToPg1, "other", "127.0.0.1", 5432));
    }
}
