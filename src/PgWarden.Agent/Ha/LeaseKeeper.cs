using PgWarden.Core.Dcs;

namespace PgWarden.Agent.Ha;

/// <summary>
/// Acquires, renews and releases the leader lease, and keeps the watchdog's fence in step with it.
/// Every deadline is on the monotonic clock (<see cref="TimeProvider.GetTimestamp"/>): a step of the
/// wall clock can never lengthen the time this node believes it may write. The lease is counted from
/// the moment before the DCS call was sent, so the local deadline is never later than the DCS's.
/// <para>
/// A lease the fence watchdog was armed with may be released (its key deleted, the lease revoked) by
/// the watchdog once its deadline passes, and a release this keeper asked for may fail yet apply
/// later (a request etcd took while it had no quorum): such a release can arrive at any time, so a
/// lease whose continuity broke — its fence deadline passed, or it was released, forgotten or not
/// renewed — is never written under again. When the DCS hands it back (an acquire or a renewal that
/// adopts the key still hanging on it; etcd resets lease TTLs on a raft leader change, so it can
/// outlive an outage), the key is first moved onto a new lease (<see cref="IDcs.RegrantLeaderAsync"/>,
/// which revokes the old one); if that fails the lease counts as lost. See docs/ha-safety.md, "The lease".
/// </para>
/// </summary>
public sealed class LeaseKeeper(IDcs dcs, string node, IWatchdog watchdog, TimeProvider clock)
{
    private long? _expires;
    private long _lease;
    private long _fenceAt;
    private readonly HashSet<long> _mayBeReleased = [];

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
        AbandonIfFenced(start);
        if (!await dcs.TryAcquireLeaderAsync(node, ttl, ct))
        {
            return false;
        }
        GrantedTtl = ttl;
        return await ExtendOnTrustedLeaseAsync(start, ttl, ct);
    }

    /// <summary>The lease ids this keeper let go of (fence deadline passed, released, forgotten, not renewed): a release of them may still land, so they are never written under again.</summary>
    public IReadOnlyCollection<long> MayBeReleased => _mayBeReleased;

    /// <summary>
    /// Refreshes the lease; false (and the lease counts as lost) if the key no longer names this node.
    /// A renewal keeps the TTL the lease was granted with, so deadlines use that one; when the
    /// configured <paramref name="ttl"/> differs, the key is moved onto a new lease of that TTL first.
    /// </summary>
    public async Task<bool> RenewAsync(TimeSpan ttl, CancellationToken ct)
    {
        var start = clock.GetTimestamp();
        AbandonIfFenced(start);
        if (GrantedTtl is { } granted && granted != ttl && _expires is not null)
        {
            if (await dcs.RegrantLeaderAsync(node, ttl, ct))
            {
                GrantedTtl = ttl;
                return await ExtendOnTrustedLeaseAsync(start, ttl, ct);
            }
        }
        if (GrantedTtl is { } kept && await dcs.RenewLeaderAsync(node, ct))
        {
            return await ExtendOnTrustedLeaseAsync(start, kept, ct);
        }
        Abandon();
        return false;
    }

    /// <summary>Gives the lease up. The caller has made sure this node's PostgreSQL no longer writes.</summary>
    public async Task ReleaseAsync(CancellationToken ct)
    {
        Abandon();
        Suspect(dcs.HeldLeaderLease);
        await dcs.ReleaseLeaderAsync(node, ct);
    }

    /// <summary>The DCS says another node leads or none does: whatever this node thought, it holds no lease.</summary>
    public void Forget() => Abandon();

    /// <summary>
    /// Writes continue under the lease the DCS now holds the key with only if this keeper never let go
    /// of it; otherwise the key is moved onto a new lease first (false: it could not be, the lease is lost).
    /// </summary>
    private async Task<bool> ExtendOnTrustedLeaseAsync(long start, TimeSpan ttl, CancellationToken ct)
    {
        // The fence deadline may have passed while the DCS call was under way (a slow keepalive): the
        // watchdog fenced then and may be releasing the lease it was armed with.
        AbandonIfFenced(clock.GetTimestamp());
        if (_mayBeReleased.Contains(dcs.HeldLeaderLease))
        {
            if (!await dcs.RegrantLeaderAsync(node, ttl, ct) || _mayBeReleased.Contains(dcs.HeldLeaderLease))
            {
                Abandon();
                return false;
            }
            GrantedTtl = ttl;
        }
        Extend(start, ttl);
        return true;
    }

    private void Extend(long start, TimeSpan ttl)
    {
        _expires = start + Ticks(ttl);
        _lease = dcs.HeldLeaderLease;
        _fenceAt = start + Ticks(ttl - FenceMargin(ttl));
        watchdog.KeepWritableUntil(_fenceAt, _lease);
    }

    /// <summary>Past the fence deadline the watchdog may have fenced and released the lease it was armed with.</summary>
    private void AbandonIfFenced(long now)
    {
        if (_lease != 0 && now >= _fenceAt)
        {
            Suspect(_lease);
            _lease = 0;
        }
    }

    private void Abandon()
    {
        Suspect(_lease);
        _lease = 0;
        _expires = null;
        GrantedTtl = null;
    }

    private void Suspect(long lease)
    {
        if (lease != 0)
        {
            _mayBeReleased.Add(lease);
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * clock.TimestampFrequency);
}
