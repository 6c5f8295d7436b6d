using System.Collections.Immutable;
using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mvccpb;
using PgWarden.Core.Api;
using PgWarden.Core.Dcs;

namespace PgWarden.Dcs;

/// <summary>
/// <see cref="IDcs"/> on etcd v3 (gRPC, through dotnet-etcd). Every call runs under one deadline
/// (the operation timeout) across all endpoints and throws <see cref="DcsUnavailableException"/>
/// when etcd does not answer in time. Keys live under <c>/pgwarden/&lt;cluster&gt;/</c> (see
/// <see cref="EtcdKeys"/>); the leader key and each member key hang on a lease of their own, so
/// they vanish when their owner stops refreshing them.
/// </summary>
public sealed class EtcdDcs : IDcs, ILeaseInspector, IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    private static readonly JsonSerializerOptions s_json = new(Json.Options) { WriteIndented = false };

    private readonly EtcdKeys _keys;
    private readonly EtcdEndpoints _endpoints;
    private readonly TimeSpan _timeout;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (long Id, long Ttl)> _memberLeases = new(StringComparer.Ordinal);
    private long _leaderLease;

    /// <param name="credentials">The etcd user to log in as (etcd authentication), or null for an etcd without authentication.</param>
    /// <param name="tls">The CA (and client certificate) for https endpoints; null for plain-text http endpoints.</param>
    public EtcdDcs(string cluster, IReadOnlyList<string> endpoints, TimeSpan? operationTimeout = null, string? localAddress = null, DcsCredentials? credentials = null,
        DcsTls? tls = null)
    {
        CheckName(cluster, nameof(cluster));
        _timeout = operationTimeout ?? DefaultTimeout;
        if (_timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(operationTimeout), "the operation timeout must be positive");
        }
        Cluster = cluster;
        _keys = new EtcdKeys(cluster);
        _endpoints = new EtcdEndpoints(endpoints, _timeout, System.Net.IPAddress.TryParse(localAddress, out var local) ? local : null, credentials, tls);
    }

    public string Cluster { get; }

    /// <summary>The lease this instance holds the leader key with, 0 if none (for diagnostics and tests).</summary>
    public long HeldLeaderLease => Interlocked.Read(ref _leaderLease);

    public async Task<ClusterView> ReadAsync(CancellationToken cancellationToken)
    {
        // One range over the whole prefix: a consistent snapshot at a single revision.
        var response = await CallAsync("reading the cluster",
            (client, deadline, token) => client.GetAsync(new RangeRequest { Key = Bytes(_keys.Prefix), RangeEnd = Bytes(_keys.PrefixEnd) }, null, deadline, token),
            cancellationToken).ConfigureAwait(false);
        return Parse(response.Kvs);
    }

    private ClusterView Parse(IEnumerable<KeyValue> kvs)
    {
        LeaderInfo? leader = null;
        var members = ImmutableDictionary.CreateBuilder<string, MemberInfo>(StringComparer.Ordinal);
        var config = new DcsConfig();
        string? initialize = null;
        FailoverRequest? failover = null;
        var history = ImmutableArray<TimelineHistoryEntry>.Empty;
        string? syncStandby = null;
        LeaderOptime? optime = null;
        var backups = ImmutableDictionary.CreateBuilder<string, ScheduledBackupRun>(StringComparer.Ordinal);
        foreach (var kv in kvs)
        {
            var name = kv.Key.ToStringUtf8()[_keys.Prefix.Length..];
            var value = kv.Value.ToStringUtf8();
            // A value someone garbled (or a newer PgWarden wrote) is skipped, never fatal for the loop.
            try
            {
                switch (name)
                {
                    case "leader" when value.Length > 0:
                        leader = new LeaderInfo(value, kv.Lease);
                        break;
                    case "initialize" when value.Length > 0:
                        initialize = value;
                        break;
                    case "config":
                        config = JsonSerializer.Deserialize<DcsConfig>(value, s_json) ?? config;
                        break;
                    case "failover":
                        failover = JsonSerializer.Deserialize<FailoverRequest>(value, s_json) is { To: not null } f ? f : null;
                        break;
                    case "history":
                        history = ParseHistory(value);
                        break;
                    case "sync":
                        syncStandby = JsonSerializer.Deserialize<SyncState>(value, s_json)?.Standby;
                        break;
                    case "optime":
                        optime = LeaderOptime.Parse(value);
                        break;
                    default:
                        if (name.StartsWith("backups/", StringComparison.Ordinal)
                            && JsonSerializer.Deserialize<ScheduledBackupRun>(value, s_json) is { Kind: not null } run)
                        {
                            backups[run.Kind] = run;
                        }
                        else if (name.StartsWith("members/", StringComparison.Ordinal) && name.Length > "members/".Length
                            && JsonSerializer.Deserialize<MemberInfo>(value, s_json) is { } member)
                        {
                            var node = name["members/".Length..];
                            members[node] = member.Name == node ? member : member with { Name = node };
                        }
                        break;
                }
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
            {
            }
        }
        return new ClusterView(leader, members.ToImmutable(), config, initialize, failover, history, syncStandby) { Optime = optime, ScheduledBackups = backups.ToImmutable() };
    }

    private static ImmutableArray<TimelineHistoryEntry> ParseHistory(string value)
    {
        var entries = JsonSerializer.Deserialize<TimelineHistoryEntry?[]>(value, s_json) ?? [];
        return [.. entries.Where(e => e is { NewLeader: not null }).Select(e => e!)];
    }

    public async Task<bool> TryAcquireLeaderAsync(string node, TimeSpan ttl, CancellationToken cancellationToken)
    {
        CheckName(node, nameof(node));
        var deadline = DateTime.UtcNow + _timeout;
        var grant = await _endpoints.CallAsync("granting a leader lease",
            deadline, (client, d, token) => client.LeaseGrantAsync(new LeaseGrantRequest { TTL = Seconds(ttl) }, null, d, token),
            cancellationToken).ConfigureAwait(false);
        var lease = grant.ID;
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(_keys.Leader), Value = Bytes(node), Lease = lease } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = Bytes(_keys.Leader) } });
        // If this fails, whether the put happened is unknown: the lease is left to expire (or to be
        // adopted by RenewLeaderAsync, which recognises a leader key naming this node).
        var response = await _endpoints.CallAsync("acquiring the leader key",
            deadline, (client, d, token) => client.TransactionAsync(txn, null, d, token), cancellationToken).ConfigureAwait(false);
        var holder = response.Succeeded ? null : response.Responses[0].ResponseRange.Kvs.FirstOrDefault();
        // A retried transaction (the first try applied, its answer lost) finds the key with our lease.
        var won = response.Succeeded || holder?.Lease == lease;
        if (won)
        {
            Interlocked.Exchange(ref _leaderLease, lease);
            return true;
        }
        var held = Interlocked.Read(ref _leaderLease);
        if (held == 0 || holder is null || holder.Value.ToStringUtf8() != node || holder.Lease != held)
        {
            await RevokeQuietlyAsync(lease, deadline, cancellationToken).ConfigureAwait(false);
            return false;
        }
        // The key still hangs on this process's earlier lease (a demotion that could not release it, say).
        // Move it to the fresh lease instead of adopting the old one: a release of the old lease that timed
        // out may still be applied later (an uncommitted entry of a minority etcd leader, committed after the
        // partition heals) and must then find nothing to delete; and the fresh lease's TTL counts from after
        // the caller's start, so the fence the caller arms from that start cannot outlast the key.
        var move = new TxnRequest();
        move.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = Bytes(node) });
        move.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Lease, Result = Compare.Types.CompareResult.Equal, Lease = held });
        move.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(_keys.Leader), Value = Bytes(node), Lease = lease } });
        var moved = await _endpoints.CallAsync("moving the leader key to a fresh lease",
            deadline, (client, d, token) => client.TransactionAsync(move, null, d, token), cancellationToken).ConfigureAwait(false);
        if (!moved.Succeeded)
        {
            await RevokeQuietlyAsync(lease, deadline, cancellationToken).ConfigureAwait(false);
            return false;
        }
        Interlocked.Exchange(ref _leaderLease, lease);
        await RevokeQuietlyAsync(held, deadline, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> RenewLeaderAsync(string node, CancellationToken cancellationToken)
    {
        CheckName(node, nameof(node));
        var held = Interlocked.Read(ref _leaderLease);
        var lease = await CallAsync("renewing the leader lease", async (client, deadline, token) =>
        {
            var id = held;
            if (id == 0)
            {
                // No lease in hand (this process restarted, or an acquire's answer was lost): adopt
                // the lease of a leader key that names this node.
                var current = await GetAsync(client, _keys.Leader, deadline, token).ConfigureAwait(false);
                if (current is null || current.Value.ToStringUtf8() != node || current.Lease == 0)
                {
                    return 0L;
                }
                id = current.Lease;
            }
            // One keepalive round trip: a background stream would outlive this call and keep the
            // lease alive even when the HA loop is stuck — exactly when it must expire.
            if (await KeepAliveOnceAsync(client, id, deadline, token).ConfigureAwait(false) <= 0)
            {
                return 0L;
            }
            var leader = await GetAsync(client, _keys.Leader, deadline, token).ConfigureAwait(false);
            return leader is not null && leader.Value.ToStringUtf8() == node && leader.Lease == id ? id : 0L;
        }, cancellationToken).ConfigureAwait(false);
        Interlocked.CompareExchange(ref _leaderLease, lease, held);
        return lease != 0;
    }

    public async Task ReleaseLeaderAsync(string node, CancellationToken cancellationToken)
    {
        CheckName(node, nameof(node));
        var deadline = DateTime.UtcNow + _timeout;
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = Bytes(node) });
        // Only the key on the lease in hand: a release that fails here may still be applied later, and
        // must then not delete a key this node has since put on a new lease.
        var releasing = Interlocked.Read(ref _leaderLease);
        if (releasing == 0)
        {
            // No lease id in hand (this process restarted, or an acquire's answer was lost): the key's
            // lease as read now, so a late-applied delete still spares a key put on a newer lease.
            var current = await CallAsync("reading the leader key",
                (client, d, token) => GetAsync(client, _keys.Leader, d, token), cancellationToken).ConfigureAwait(false);
            if (current is null || current.Value.ToStringUtf8() != node)
            {
                return;
            }
            releasing = current.Lease;
        }
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Lease, Result = Compare.Types.CompareResult.Equal, Lease = releasing });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(_keys.Leader), PrevKv = true } });
        var response = await _endpoints.CallAsync("releasing the leader key",
            deadline, (client, d, token) => client.TransactionAsync(txn, null, d, token), cancellationToken).ConfigureAwait(false);
        // Forgotten only once etcd answered: a lease kept after a failed release can be adopted later,
        // and adopting sends a keepalive first (TryAcquireLeaderAsync), so the fence never outlasts it.
        var held = Interlocked.Exchange(ref _leaderLease, 0);
        var deletedLease = response.Succeeded ? response.Responses[0].ResponseDeleteRange.PrevKvs.FirstOrDefault()?.Lease ?? 0 : 0;
        foreach (var lease in new[] { held, deletedLease }.Where(l => l != 0).Distinct())
        {
            await RevokeQuietlyAsync(lease, deadline, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<bool> RegrantLeaderAsync(string node, TimeSpan ttl, CancellationToken cancellationToken)
    {
        CheckName(node, nameof(node));
        var held = Interlocked.Read(ref _leaderLease);
        if (held == 0)
        {
            return false;
        }
        var deadline = DateTime.UtcNow + _timeout;
        var grant = await _endpoints.CallAsync("granting a leader lease with the new ttl",
            deadline, (client, d, token) => client.LeaseGrantAsync(new LeaseGrantRequest { TTL = Seconds(ttl) }, null, d, token),
            cancellationToken).ConfigureAwait(false);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = Bytes(node) });
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Lease, Result = Compare.Types.CompareResult.Equal, Lease = held });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(_keys.Leader), Value = Bytes(node), Lease = grant.ID } });
        var response = await _endpoints.CallAsync("moving the leader key to its new lease",
            deadline, (client, d, token) => client.TransactionAsync(txn, null, d, token), cancellationToken).ConfigureAwait(false);
        await RevokeQuietlyAsync(response.Succeeded ? held : grant.ID, deadline, cancellationToken).ConfigureAwait(false);
        if (response.Succeeded)
        {
            Interlocked.Exchange(ref _leaderLease, grant.ID);
        }
        return response.Succeeded;
    }

    public async Task<bool> ReleaseLeaderLeaseAsync(string node, long lease, CancellationToken cancellationToken)
    {
        CheckName(node, nameof(node));
        var deadline = DateTime.UtcNow + _timeout;
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = Bytes(node) });
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Lease, Result = Compare.Types.CompareResult.Equal, Lease = lease });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(_keys.Leader) } });
        var response = await _endpoints.CallAsync("releasing a fenced leader's key",
            deadline, (client, d, token) => client.TransactionAsync(txn, null, d, token), cancellationToken).ConfigureAwait(false);
        if (response.Succeeded)
        {
            await RevokeQuietlyAsync(lease, deadline, cancellationToken).ConfigureAwait(false);
        }
        return response.Succeeded;
    }

    public async Task WatchAsync(Action<string> changed, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var client = await _endpoints.PreferredLoggedInAsync(_timeout, cancellationToken).ConfigureAwait(false);
                using var call = client.GetConnection().WatchClient.Watch(null, null, cancellationToken);
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest { Key = Bytes(_keys.Prefix), RangeEnd = Bytes(_keys.PrefixEnd) },
                }, cancellationToken).ConfigureAwait(false);
                while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    if (call.ResponseStream.Current.Canceled)
                    {
                        // etcd refused or ended the watch (with authentication: a token it no longer
                        // knows gives "permission denied"): log in again and start a new one.
                        _endpoints.ForgetPreferredToken();
                        break;
                    }
                    foreach (var e in call.ResponseStream.Current.Events)
                    {
                        changed(e.Kv.Key.ToStringUtf8()[_keys.Prefix.Length..]);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException or OperationCanceledException or DcsUnavailableException)
            {
                // etcd restarting or unreachable (or refusing the login): the loop's periodic reads go on meanwhile.
            }
            _endpoints.Rotate();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task PublishMemberAsync(MemberInfo member, TimeSpan ttl, CancellationToken cancellationToken)
    {
        CheckName(member.Name, nameof(member));
        var seconds = Seconds(ttl);
        (long Id, long Ttl) known;
        lock (_lock)
        {
            known = _memberLeases.GetValueOrDefault(member.Name);
        }
        var key = Bytes(_keys.Member(member.Name));
        var value = Bytes(JsonSerializer.Serialize(member, s_json));
        var lease = await CallAsync($"publishing member {member.Name}", async (client, deadline, token) =>
        {
            var id = known.Ttl == seconds ? known.Id : 0;
            if (id != 0 && await KeepAliveOnceAsync(client, id, deadline, token).ConfigureAwait(false) <= 0)
            {
                id = 0;
            }
            for (var attempt = 0; ; attempt++)
            {
                if (id == 0)
                {
                    id = (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = seconds }, null, deadline, token).ConfigureAwait(false)).ID;
                }
                try
                {
                    await client.PutAsync(new PutRequest { Key = key, Value = value, Lease = id }, null, deadline, token).ConfigureAwait(false);
                    return id;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && attempt == 0)
                {
                    id = 0; // the lease expired between the keepalive and the put
                }
            }
        }, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _memberLeases[member.Name] = (lease, seconds);
        }
    }

    public async Task<bool> TryInitializeAsync(string node, CancellationToken cancellationToken)
    {
        CheckName(node, nameof(node));
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Initialize), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(_keys.Initialize), Value = Bytes(node) } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = Bytes(_keys.Initialize) } });
        var response = await CallAsync("claiming the cluster's initialisation",
            (client, deadline, token) => client.TransactionAsync(txn, null, deadline, token), cancellationToken).ConfigureAwait(false);
        // A node that finds its own name there won before (a retry whose first answer was lost).
        return response.Succeeded || response.Responses[0].ResponseRange.Kvs.FirstOrDefault()?.Value.ToStringUtf8() == node;
    }

    public Task RecordScheduledBackupAsync(ScheduledBackupRun run, CancellationToken cancellationToken) =>
        PutAsync($"recording the scheduled {run.Kind} backup", _keys.ScheduledBackup(run.Kind), JsonSerializer.Serialize(run, s_json), cancellationToken);

    public Task PublishLeaderPositionAsync(LeaderOptime optime, CancellationToken cancellationToken) =>
        PutAsync("recording the leader's WAL position", _keys.Optime, optime.Format(), cancellationToken);

    public Task WriteConfigAsync(DcsConfig config, CancellationToken cancellationToken) =>
        PutAsync("writing the cluster config", _keys.Config, JsonSerializer.Serialize(config, s_json), cancellationToken);

    public async Task<DcsConfig?> UpdateConfigAsync(Func<DcsConfig, DcsConfig?> update, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            if (attempt > 0)
            {
                // Another writer won the swap: back off a random few milliseconds so contenders spread out.
                await Task.Delay(Random.Shared.Next(1, 10 + 5 * Math.Min(attempt, 10)), cancellationToken).ConfigureAwait(false);
            }
            var current = await CallAsync("reading the cluster config",
                (client, deadline, token) => GetAsync(client, _keys.Config, deadline, token), cancellationToken).ConfigureAwait(false);
            // A garbled value counts as the defaults, as ReadAsync (and so every agent) reads it: throwing
            // here made PATCH /config, pause and resume fail with a 500 until someone fixed the key by hand.
            var config = current is null ? new DcsConfig() : ConfigOrDefaults(current.Value.ToStringUtf8());
            if (update(config) is not { } next)
            {
                return null;
            }
            var txn = new TxnRequest();
            // Unchanged since the read: same modification revision (0 = the key still absent).
            txn.Compare.Add(new Compare { Key = Bytes(_keys.Config), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = current?.ModRevision ?? 0 });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(_keys.Config), Value = Bytes(JsonSerializer.Serialize(next, s_json)) } });
            var response = await CallAsync("writing the cluster config",
                (client, deadline, token) => client.TransactionAsync(txn, null, deadline, token), cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                return next;
            }
        }
        throw new InvalidOperationException("the cluster config kept changing while it was being updated (50 attempts); try again");
    }

    private static DcsConfig ConfigOrDefaults(string value)
    {
        try
        {
            return JsonSerializer.Deserialize<DcsConfig>(value, s_json) ?? new DcsConfig();
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return new DcsConfig();
        }
    }

    public Task RequestFailoverAsync(FailoverRequest request, CancellationToken cancellationToken) =>
        PutAsync("requesting a failover", _keys.Failover, JsonSerializer.Serialize(request, s_json), cancellationToken);

    public async Task ForgetLeadershipAsync(CancellationToken cancellationToken)
    {
        foreach (var key in new[] { _keys.Leader, _keys.Optime, _keys.Failover, _keys.Sync })
        {
            await CallAsync("forgetting the old leadership after a cluster restore",
                (client, deadline, token) => client.DeleteAsync(new DeleteRangeRequest { Key = Bytes(key) }, null, deadline, token),
                cancellationToken).ConfigureAwait(false);
        }
    }

    public Task ClearFailoverAsync(CancellationToken cancellationToken) =>
        CallAsync("clearing the failover request",
            (client, deadline, token) => client.DeleteAsync(new DeleteRangeRequest { Key = Bytes(_keys.Failover) }, null, deadline, token),
            cancellationToken);

    public Task AppendHistoryAsync(TimelineHistoryEntry entry, CancellationToken cancellationToken) =>
        CallAsync("appending to the timeline history", async (client, deadline, token) =>
        {
            // Compare-and-swap on the key's mod revision (0 while absent), retried on a lost race.
            while (true)
            {
                var current = await GetAsync(client, _keys.History, deadline, token).ConfigureAwait(false);
                var entries = ImmutableArray<TimelineHistoryEntry>.Empty;
                if (current is not null)
                {
                    try
                    {
                        entries = ParseHistory(current.Value.ToStringUtf8());
                    }
                    catch (JsonException)
                    {
                        // Unreadable: start a fresh history rather than block every promotion.
                    }
                }
                if (entries.Contains(entry))
                {
                    return true; // a retry whose first answer was lost
                }
                var txn = new TxnRequest();
                txn.Compare.Add(new Compare { Key = Bytes(_keys.History), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = current?.ModRevision ?? 0 });
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(_keys.History), Value = Bytes(JsonSerializer.Serialize(entries.Add(entry), s_json)) } });
                if ((await client.TransactionAsync(txn, null, deadline, token).ConfigureAwait(false)).Succeeded)
                {
                    return true;
                }
            }
        }, cancellationToken);

    public async Task<bool> SetSyncStandbyAsync(string leader, string? standby, CancellationToken cancellationToken)
    {
        CheckName(leader, nameof(leader));
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Bytes(_keys.Leader), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = Bytes(leader) });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(_keys.Sync), Value = Bytes(JsonSerializer.Serialize(new SyncState(leader, standby), s_json)) } });
        var response = await CallAsync("recording the synchronous standby",
            (client, deadline, token) => client.TransactionAsync(txn, null, deadline, token), cancellationToken).ConfigureAwait(false);
        return response.Succeeded;
    }

    public ValueTask DisposeAsync()
    {
        // Leases are left to expire: a process that stops without releasing is indistinguishable
        // from one that died, which is what the TTLs are for.
        _endpoints.Dispose();
        return ValueTask.CompletedTask;
    }

    private Task PutAsync(string doing, string key, string value, CancellationToken cancellationToken) =>
        CallAsync(doing,
            (client, deadline, token) => client.PutAsync(new PutRequest { Key = Bytes(key), Value = Bytes(value) }, null, deadline, token),
            cancellationToken);

    private Task<T> CallAsync<T>(string doing, Func<EtcdClient, DateTime, CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        _endpoints.CallAsync(doing, DateTime.UtcNow + _timeout, call, cancellationToken);

    private static async Task<KeyValue?> GetAsync(EtcdClient client, string key, DateTime deadline, CancellationToken cancellationToken)
    {
        var response = await client.GetAsync(new RangeRequest { Key = Bytes(key) }, null, deadline, cancellationToken).ConfigureAwait(false);
        return response.Kvs.FirstOrDefault();
    }

    /// <summary>One keepalive request and its answer; the remaining TTL in seconds, 0 if the lease is gone.</summary>
    public async Task<string?> DescribeLeaseAsync(long lease, CancellationToken cancellationToken)
    {
        var answer = await CallAsync("reading a lease", (client, deadline, token) =>
            client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease, Keys = true }, null, deadline, token), cancellationToken).ConfigureAwait(false);
        // etcd answers TTL -1 for a lease it does not know (revoked, or expired and revoked).
        return answer.TTL < 0
            ? $"lease {lease:x} is gone at etcd (revoked or expired)"
            : $"lease {lease:x} has {answer.TTL} s left at etcd, keys: [{string.Join(", ", answer.Keys.Select(k => k.ToStringUtf8()))}]";
    }

    private static async Task<long> KeepAliveOnceAsync(EtcdClient client, long lease, DateTime deadline, CancellationToken cancellationToken)
    {
        using var call = client.GetConnection().LeaseClient.LeaseKeepAlive(null, deadline, cancellationToken);
        await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }, cancellationToken).ConfigureAwait(false);
        if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the keepalive stream closed without an answer"));
        }
        var ttl = call.ResponseStream.Current.TTL;
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        return ttl;
    }

    /// <summary>Revokes a lease we no longer want; if that fails it expires by itself after its TTL.</summary>
    private async Task RevokeQuietlyAsync(long lease, DateTime deadline, CancellationToken cancellationToken)
    {
        try
        {
            await _endpoints.CallAsync("revoking a lease", deadline, async (client, d, token) =>
            {
                try
                {
                    await client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, null, d, token).ConfigureAwait(false);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                {
                    // already expired
                }
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (DcsUnavailableException)
        {
        }
    }

    private static long Seconds(TimeSpan ttl) => Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds));

    private static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);

    private static void CheckName(string name, string parameter)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/'))
        {
            throw new ArgumentException($"'{name}' is not a valid name (empty, or contains '/')", parameter);
        }
    }
}
