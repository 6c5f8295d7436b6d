using System.Collections.Immutable;
using PgWarden.Core.Dcs;

namespace PgWarden.Agent.Tests;

/// <summary>
/// The DCS in memory, with etcd's semantics where the HA engine depends on them: the leader key is
/// created only when absent, renewed only by its holder, and expires <c>ttl</c> after its last
/// renewal by the fake clock; member keys expire the same way. <see cref="Unreachable"/> makes every
/// call throw <see cref="DcsUnavailableException"/>.
/// </summary>
public sealed class InMemoryDcs(FakeClock clock) : IDcs
{
    private readonly Lock _lock = new();
    private (string Node, DateTimeOffset Expires, TimeSpan Ttl)? _leader;
    private readonly Dictionary<string, (MemberInfo Member, DateTimeOffset Expires)> _members = new(StringComparer.Ordinal);
    /// <summary>A 10 s lease unless a test sets another: the timing tests' arithmetic is written for it (the shipped default is 5 s).</summary>
    private DcsConfig _config = new() { Ttl = 10 };
    private string? _initialize;
    private FailoverRequest? _failover;
    private ImmutableArray<TimelineHistoryEntry> _history = [];
    private LeaderOptime? _optime;

    public bool Unreachable { get; set; }

    public string? Leader
    {
        get
        {
            lock (_lock)
            {
                Expire();
                return _leader?.Node;
            }
        }
    }

    public ImmutableArray<TimelineHistoryEntry> History => _history;

    public Task<ClusterView> ReadAsync(CancellationToken cancellationToken) => Call(() =>
    {
        Expire();
        var view = new ClusterView(_leader is { } l ? new LeaderInfo(l.Node, 1) : null, _members.ToImmutableDictionary(m => m.Key, m => m.Value.Member),
            _config, _initialize, _failover, _history, null) { Optime = _optime };
        return view;
    });

    public Task<bool> TryAcquireLeaderAsync(string node, TimeSpan ttl, CancellationToken cancellationToken) => Call(() =>
    {
        Expire();
        if (_leader is { } held)
        {
            if (held.Node != node)
            {
                return false;
            }
            // Adopting this node's key sends a keepalive, as EtcdDcs does.
            _leader = (node, clock.GetUtcNow() + held.Ttl, held.Ttl);
            return true;
        }
        _leader = (node, clock.GetUtcNow() + ttl, ttl);
        _leaseId++;
        return true;
    });

    /// <summary>Runs at the start of every renewal (a test moves the clock there: a slow keepalive).</summary>
    public Action? DuringRenewal { get; set; }

    public Task<bool> RenewLeaderAsync(string node, CancellationToken cancellationToken) => Call(() =>
    {
        DuringRenewal?.Invoke();
        Expire();
        if (_leader is not { } l || l.Node != node)
        {
            return false;
        }
        _leader = (node, clock.GetUtcNow() + l.Ttl, l.Ttl);
        return true;
    });

    public Task ReleaseLeaderAsync(string node, CancellationToken cancellationToken) => Call(() =>
    {
        if (_leader?.Node == node)
        {
            _leader = null;
        }
        return true;
    });

    public Task<bool> RegrantLeaderAsync(string node, TimeSpan ttl, CancellationToken cancellationToken) => Call(() =>
    {
        Expire();
        if (_leader?.Node != node)
        {
            return false;
        }
        _leader = (node, clock.GetUtcNow() + ttl, ttl);
        _leaseId++;
        return true;
    });

    /// <summary>The TTL the leader key's lease was granted with (null: no leader).</summary>
    public TimeSpan? LeaderTtl => _leader?.Ttl;

    /// <summary>When the leader key goes unless renewed (the fake clock's wall time).</summary>
    public DateTimeOffset? LeaderExpiresAt => _leader?.Expires;

    /// <summary>The in-memory lease id is the key's creation count (1, 2 …).</summary>
    public long HeldLeaderLease => _leader is null ? 0 : _leaseId;

    private long _leaseId;

    public Task<bool> ReleaseLeaderLeaseAsync(string node, long lease, CancellationToken cancellationToken) => Call(() =>
    {
        Expire();
        if (_leader?.Node != node || lease != _leaseId)
        {
            return false;
        }
        _leader = null;
        return true;
    });

    public Task WatchAsync(Action<string> changed, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

    /// <summary>Someone else takes the lease (a test's way to depose this node).</summary>
    public void ForceLeader(string? node, TimeSpan ttl)
    {
        lock (_lock)
        {
            _leader = node is null ? null : (node, clock.GetUtcNow() + ttl, ttl);
        }
    }

    public Task PublishMemberAsync(MemberInfo member, TimeSpan ttl, CancellationToken cancellationToken) => Call(() =>
    {
        _members[member.Name] = (member, clock.GetUtcNow() + ttl);
        return true;
    });

    /// <summary>Sets a member key as another agent would publish it.</summary>
    public void SetMember(MemberInfo member, TimeSpan? ttl = null)
    {
        lock (_lock)
        {
            _members[member.Name] = (member, clock.GetUtcNow() + (ttl ?? TimeSpan.FromHours(1)));
        }
    }

    public MemberInfo? Member(string name)
    {
        lock (_lock)
        {
            return _members.TryGetValue(name, out var m) ? m.Member : null;
        }
    }

    public Task<bool> TryInitializeAsync(string node, CancellationToken cancellationToken) => Call(() =>
    {
        _initialize ??= node;
        return _initialize == node;
    });

    public Task PublishLeaderPositionAsync(LeaderOptime optime, CancellationToken cancellationToken) => Call(() => _optime = optime);

    public LeaderOptime? Optime => _optime;

    public Task RecordScheduledBackupAsync(ScheduledBackupRun run, CancellationToken cancellationToken) => Call(() => true);

    public Task ForgetLeadershipAsync(CancellationToken cancellationToken) => Call(() =>
    {
        _leader = null;
        _optime = null;
        _failover = null;
        return true;
    });

    public Task WriteConfigAsync(DcsConfig config, CancellationToken cancellationToken) => Call(() => _config = config);

    public Task<DcsConfig?> UpdateConfigAsync(Func<DcsConfig, DcsConfig?> update, CancellationToken cancellationToken) => Call(() =>
    {
        lock (_lock)
        {
            return update(_config) is { } next ? _config = next : null;
        }
    });

    public Task RequestFailoverAsync(FailoverRequest request, CancellationToken cancellationToken) => Call(() => _failover = request);

    public FailoverRequest? Failover => _failover;

    public Task ClearFailoverAsync(CancellationToken cancellationToken) => Call(() =>
    {
        _failover = null;
        return true;
    });

    public Task AppendHistoryAsync(TimelineHistoryEntry entry, CancellationToken cancellationToken) => Call(() => _history = _history.Add(entry));

    public Task<bool> SetSyncStandbyAsync(string leader, string? standby, CancellationToken cancellationToken) => Call(() => _leader?.Node == leader);

    /// <summary>Sets the initialize key and history as an earlier life of the cluster left them.</summary>
    public void Seed(string? initialize = null, DcsConfig? config = null, LeaderOptime? optime = null, params TimelineHistoryEntry[] history)
    {
        lock (_lock)
        {
            _initialize = initialize;
            _config = config ?? _config;
            _optime = optime;
            _history = [.. history];
        }
    }

    private void Expire()
    {
        var now = clock.GetUtcNow();
        if (_leader is { } l && l.Expires <= now)
        {
            _leader = null;
        }
        foreach (var (name, (_, expires)) in _members.ToList())
        {
            if (expires <= now)
            {
                _members.Remove(name);
            }
        }
    }

    private Task<T> Call<T>(Func<T> body)
    {
        lock (_lock)
        {
            if (Unreachable)
            {
                throw new DcsUnavailableException("the in-memory DCS is unreachable (test)");
            }
            return Task.FromResult(body());
        }
    }
}
