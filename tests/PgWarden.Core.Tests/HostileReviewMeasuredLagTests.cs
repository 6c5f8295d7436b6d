using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using static PgWarden.Core.Tests.HaTestData;

namespace PgWarden.Core.Tests;

/// <summary>
/// Hostile review of the switchover speed-ups: the leader's measured lag (pg_stat_replication) may only
/// ever make a replica look as far behind as it really is. Before the fix AgentApi built the map with
/// ToDictionary (an ArgumentException, HTTP 500, on a duplicate application_name) and the CLI let the
/// last row win; both used rows of any state, where a NULL flush_lsn reads as 0 bytes of lag.
/// </summary>
public sealed class HostileReviewMeasuredLagTests
{
    private static readonly string[] Nodes = ["pg1", "pg2", "pg3"];

    /// <summary>pg2 reconnected far behind (catchup); its walsender has no flush position yet (NULL → 0 lag).</summary>
    [Fact]
    public void AReplicaInCatchupIsNotMadeEligibleByItsMissingFlushPosition()
    {
        var view = View("pg1", Member("pg1", NodeRole.Primary, 50_000_000), Member("pg2", NodeRole.Replica, 2_000_000), Member("pg3", NodeRole.Replica, 49_990_000));
        var rows = new (string, string?, long)[] { ("pg2", "catchup", 0), ("pg3", "streaming", 10_000) };
        var measured = SwitchoverRules.WithMeasuredLag(view, SwitchoverRules.MeasuredFlushLag(rows));
        Assert.Contains("maximum_lag_on_failover", SwitchoverRules.Validate(FailoverKind.Switchover, measured, Nodes, null, "pg2", Now));
        Assert.Null(SwitchoverRules.Validate(FailoverKind.Switchover, measured, Nodes, null, "pg3", Now));
    }

    /// <summary>
    /// Two rows under one name: pg_basebackup's base-backup and WAL connections (a reinit or backup
    /// from the leader), a replica reconnecting while its old walsender lingers, or another replication
    /// client calling itself pg2. The map is built (no exception) and keeps the larger lag.
    /// </summary>
    [Fact]
    public void DuplicateApplicationNamesKeepTheLargestLag()
    {
        var rows = new (string, string?, long)[]
        {
            ("pg_basebackup", "backup", 0), ("pg_basebackup", "streaming", 0),
            ("pg2", "streaming", 9_000_000), ("pg2", "streaming", 0),
        };
        var lag = SwitchoverRules.MeasuredFlushLag(rows);
        Assert.Equal(9_000_000, lag["pg2"]);
        var view = View("pg1", Member("pg1", NodeRole.Primary, 10_000_000), Member("pg2", NodeRole.Replica, 1_000_000), Member("pg3", NodeRole.Replica, 9_999_000));
        Assert.Contains("maximum_lag_on_failover", SwitchoverRules.Validate(FailoverKind.Switchover, SwitchoverRules.WithMeasuredLag(view, lag), Nodes, null, "pg2", Now));
    }
}
