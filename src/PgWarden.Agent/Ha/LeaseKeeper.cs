using PgWarden.Core.Dcs;

namespace PgWarden.Agent.Ha;

/// <summary>
/// Acquires, renews and releases the leader lease, and keeps the watchdog's fence in step with it.
/// Every deadline is on the monotonic clock (<see cref="TimeProvider.GetTimestamp"/>): a step of the
/// wall clock can never lengthen the time this node believes it may write. The lease is counted from
/// the moment before the DCS call was sent, so the local deadline is never later than the DCS's.
/// </summary>
public sealed class LeaseKeeper(IDcs dcs, string node, IWatchdog watchdog, TimeProvider clock)
{
    private long? _expires;

    /// <summary>The TTL the held lease was granted with (etcd keeps it across renewals), null when none is held.</summary>
    public TimeSpan? GrantedTtl { get; private set; }

    /// <summary>
    /// How long before the lease can expire the watchdog fences the primary: a tenth of the TTL,
    /// at least one second (killing a postmaster takes milliseconds; the margin absorbs scheduling).
    /// </summary>
    public static TimeSpan FenceMargin(TimeSpan ttl) => PgWarden.Core.Ha.LeaseTiming.FenceMargin(ttl);

    /// <summary>How long the lease is still safe for (null: none held, or already past its deadline).</summary>
    public TimeSpan? Remaining
    {
        get
        {
            if (_expires is not { } expires)
            {
                return null;
            }
            var left = clock.GetElapsedTime(clock.GetTimestamp(), expires);
            return left > TimeSpan.Zero ? left : null;
        }
    }

    public bool Held => Remaining is not null;

    /// <summary>Creates the leader key for this node if absent. True if it now holds it.</summary>
    public async Task<bool> TryAcquireAsync(TimeSpan ttl, CancellationToken ct)
    {
        var start = clock.GetTimestamp();
        if (!await dcs.TryAcquireLeaderAsync(node, ttl, ct))
        {
            return false;
        }
        GrantedTtl = ttl;
        Extend(start, ttl);
        return true;
    }

    /// <summary>
    /// Refreshes the lease; false (and the lease counts as lost) if the key no longer names this node.
    /// A renewal keeps the TTL the lease was granted with, so deadlines use that one; when the
    /// configured <paramref name="ttl"/> differs, the key is moved onto a new lease of that TTL first.
    /// </summary>
    public async Task<bool> RenewAsync(TimeSpan ttl, CancellationToken ct)
    {
        var start = clock.GetTimestamp();
        if (GrantedTtl is { } granted && granted != ttl && _expires is not null)
        {
            if (await dcs.RegrantLeaderAsync(node, ttl, ct))
            {
                GrantedTtl = ttl;
                Extend(start, ttl);
                return true;
            }
        }
        if (GrantedTtl is { } kept && await dcs.RenewLeaderAsync(node, ct))
        {
            Extend(start, kept);
            return true;
        }
        _expires = null;
        GrantedTtl = null;
        return false;
    }

    /// <summary>Gives the lease up. The caller has made sure this node's PostgreSQL no longer writes.</summary>
    public async Task ReleaseAsync(CancellationToken ct)
    {
        _expires = null;
        GrantedTtl = null;
        await dcs.ReleaseLeaderAsync(node, ct);
    }

    /// <summary>The DCS says another node leads or none does: whatever this node thought, it holds no lease.</summary>
    public void Forget()
    {
        _expires = null;
        GrantedTtl = null;
    }

    private void Extend(long start, TimeSpan ttl)
    {
        _expires = start + Ticks(ttl);
        watchdog.KeepWritableUntil(start + Ticks(ttl - FenceMargin(ttl)), dcs.HeldLeaderLease);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * clock.TimestampFrequency);
}
