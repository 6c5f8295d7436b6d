namespace PgWarden.Core.Dcs;

/// <summary>
/// The distributed configuration store as the HA loop sees it: one cluster's keys. Every call
/// answers within a short deadline or throws <see cref="DcsUnavailableException"/>; none blocks
/// the loop for longer than that.
/// </summary>
public interface IDcs
{
    Task<ClusterView> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Creates the leader key for <paramref name="node"/> with a lease of <paramref name="ttl"/>, only if no leader key exists. True if it now holds it.</summary>
    Task<bool> TryAcquireLeaderAsync(string node, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Refreshes the leader lease; true only if the key still names <paramref name="node"/> afterwards.</summary>
    Task<bool> RenewLeaderAsync(string node, CancellationToken cancellationToken);

    /// <summary>Deletes the leader key if it names <paramref name="node"/>.</summary>
    Task ReleaseLeaderAsync(string node, CancellationToken cancellationToken);

    /// <summary>
    /// Moves the leader key of <paramref name="node"/> onto a new lease of <paramref name="ttl"/> (a
    /// changed ttl; a lease keeps the TTL it was granted with). True if the key now hangs on the new
    /// lease; false if it no longer named this node.
    /// </summary>
    Task<bool> RegrantLeaderAsync(string node, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>The id of the lease this client holds the leader key with (0: none), for the fence watchdog to release it on the agent's behalf.</summary>
    long HeldLeaderLease { get; }

    /// <summary>
    /// Deletes the leader key only if it still names <paramref name="node"/> and hangs on
    /// <paramref name="lease"/> — never a key a later holder created. Used by the fence watchdog once
    /// the node's PostgreSQL is dead, so the next leader does not wait for the lease to expire.
    /// </summary>
    Task<bool> ReleaseLeaderLeaseAsync(string node, long lease, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="changed"/> with the key name (relative to the cluster, e.g. "leader")
    /// whenever a key of the cluster changes, until cancelled; reconnects after errors. Lets the HA
    /// loop react at once instead of at its next period.
    /// </summary>
    Task WatchAsync(Action<string> changed, CancellationToken cancellationToken);

    /// <summary>Writes the member key of <paramref name="member"/>, attached to a lease of <paramref name="ttl"/>.</summary>
    Task PublishMemberAsync(MemberInfo member, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Claims the right to run initdb: true for exactly one caller, ever, per cluster.</summary>
    Task<bool> TryInitializeAsync(string node, CancellationToken cancellationToken);

    /// <summary>
    /// The leader records its WAL position and timeline every cycle in a key without a lease, so that
    /// after it dies the replicas still know how far behind they are (maximum_lag_on_failover) and
    /// that a node on an older timeline must not lead.
    /// </summary>
    Task PublishLeaderPositionAsync(LeaderOptime optime, CancellationToken cancellationToken);

    /// <summary>Records the state of a scheduled backup (key without a lease: a new leader must see it).</summary>
    Task RecordScheduledBackupAsync(ScheduledBackupRun run, CancellationToken cancellationToken);

    /// <summary>
    /// After `restore --cluster`: forgets the old cluster's leader key, leader position, pending
    /// failover and synchronous standby, so the restored primary (possibly at an older WAL position)
    /// can take the lease. Configuration, history and the initialize key stay.
    /// </summary>
    Task ForgetLeadershipAsync(CancellationToken cancellationToken);

    Task WriteConfigAsync(DcsConfig config, CancellationToken cancellationToken);

    /// <summary>
    /// Read-modify-write of the cluster config with compare-and-swap (Patroni's PATCH /config checks the
    /// key's index the same way): <paramref name="update"/> gets the config as stored now and returns
    /// the next one, or null to write nothing; if another writer changed the config in between, it is
    /// read again and <paramref name="update"/> runs again, so no concurrent change is lost.
    /// Returns what was written (null: nothing). Throws <see cref="DcsUnavailableException"/>, or
    /// <see cref="InvalidOperationException"/> when the key keeps changing under 50 attempts (with a random back-off of up to 60 ms between them).
    /// </summary>
    Task<DcsConfig?> UpdateConfigAsync(Func<DcsConfig, DcsConfig?> update, CancellationToken cancellationToken);

    Task RequestFailoverAsync(FailoverRequest request, CancellationToken cancellationToken);

    Task ClearFailoverAsync(CancellationToken cancellationToken);

    Task AppendHistoryAsync(TimelineHistoryEntry entry, CancellationToken cancellationToken);

    /// <summary>Records which standby is synchronous (null: none), only while <paramref name="leader"/> holds the leader key.</summary>
    Task<bool> SetSyncStandbyAsync(string leader, string? standby, CancellationToken cancellationToken);
}
