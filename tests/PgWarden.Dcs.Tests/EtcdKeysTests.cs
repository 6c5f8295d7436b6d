using System.Diagnostics;
using dotnet_etcd;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;
using Xunit.Abstractions;

namespace PgWarden.Dcs.Tests;

public sealed class EtcdKeysTests(EtcdFixture etcd, ITestOutputHelper output) : IClassFixture<EtcdFixture>
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task An_empty_cluster_reads_as_defaults()
    {
        await using var dcs = etcd.NewDcs();
        var view = await dcs.ReadAsync(Ct);

        Assert.Null(view.Leader);
        Assert.Empty(view.Members);
        Assert.Equal(new DcsConfig(), view.Config);
        Assert.Null(view.Initialize);
        Assert.Null(view.Failover);
        Assert.Empty(view.History);
        Assert.Null(view.SyncStandby);
    }

    [Fact]
    public async Task Concurrent_config_updates_of_different_fields_all_land()
    {
        // Issue 13: PATCH /config and pause/resume read, changed and wrote the whole config, so one of
        // two concurrent changes was lost. Twenty writers, each raising one parameter of its own, and a
        // writer that changes the config between another's read and write (forcing a retry).
        var cluster = EtcdFixture.NewClusterName();
        await using var dcs = etcd.NewDcs(cluster);
        await using var other = etcd.NewDcs(cluster);
        var interfered = false;
        await dcs.UpdateConfigAsync(current =>
        {
            if (!interfered)
            {
                interfered = true;
                other.WriteConfigAsync(current with { Paused = true }, Ct).GetAwaiter().GetResult();
            }
            return current with { Ttl = 20 };
        }, Ct);
        await Task.WhenAll(Enumerable.Range(1, 20).Select(async i =>
        {
            await using var writer = etcd.NewDcs(cluster);
            await writer.UpdateConfigAsync(c => c with { Parameters = new Dictionary<string, string>(c.Parameters) { [$"custom.p{i}"] = i.ToString() } }, Ct);
        }));
        var config = (await dcs.ReadAsync(Ct)).Config;
        Assert.True(config.Paused, "the write made between the read and the swap was kept");
        Assert.Equal(20, config.Ttl);
        Assert.Equal(20, config.Parameters.Count);
        Assert.Null(await dcs.UpdateConfigAsync(_ => null, Ct));
    }

    [Fact]
    public async Task Initialize_is_won_by_exactly_one_of_five_concurrent_callers()
    {
        var cluster = EtcdFixture.NewClusterName();
        var nodes = Enumerable.Range(1, 5).Select(i => (Name: $"pg{i}", Dcs: etcd.NewDcs(cluster))).ToList();
        try
        {
            var results = await Task.WhenAll(nodes.Select(n => n.Dcs.TryInitializeAsync(n.Name, Ct)));
            Assert.Single(results, r => r);
            var winner = nodes[Array.IndexOf(results, true)].Name;
            Assert.Equal(winner, (await nodes[0].Dcs.ReadAsync(Ct)).Initialize);
            // Later callers lose too, ever.
            Assert.False(await nodes.First(n => n.Name != winner).Dcs.TryInitializeAsync("pg9", Ct));
        }
        finally
        {
            foreach (var (_, dcs) in nodes)
            {
                await dcs.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Member_keys_appear_in_the_view_and_vanish_after_their_ttl_unless_refreshed()
    {
        var cluster = EtcdFixture.NewClusterName();
        await using var pg1 = etcd.NewDcs(cluster);
        await using var pg2 = etcd.NewDcs(cluster);
        var ttl = TimeSpan.FromSeconds(2);

        await pg1.PublishMemberAsync(Members.Sample("pg1", NodeRole.Primary), ttl, Ct);
        await pg2.PublishMemberAsync(Members.Sample("pg2"), ttl, Ct);
        var view = await pg1.ReadAsync(Ct);
        Assert.Equal(["pg1", "pg2"], view.Members.Keys.Order());
        Assert.Equal(Members.Sample("pg1", NodeRole.Primary), view.Members["pg1"]);
        Assert.Equal(Members.Sample("pg2"), view.Members["pg2"]);

        // pg1 keeps publishing (its lease refreshed each time), pg2 stops.
        var stopped = Stopwatch.StartNew();
        while (true)
        {
            await pg1.PublishMemberAsync(Members.Sample("pg1", NodeRole.Primary) with { State = "busy" }, ttl, Ct);
            view = await pg1.ReadAsync(Ct);
            if (!view.Members.ContainsKey("pg2"))
            {
                break;
            }
            Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(6), "pg2's member key outlived its 2 s lease by far");
            await Task.Delay(250);
        }
        output.WriteLine($"member key expired {stopped.Elapsed.TotalSeconds:0.00} s after its last publish (ttl 2 s)");
        Assert.True(stopped.Elapsed > TimeSpan.FromSeconds(1.5));
        Assert.Equal("busy", view.Members["pg1"].State);

        // Publishing again after expiry gets a fresh lease.
        await pg2.PublishMemberAsync(Members.Sample("pg2"), ttl, Ct);
        Assert.True((await pg1.ReadAsync(Ct)).Members.ContainsKey("pg2"));
    }

    [Fact]
    public async Task Optime_and_request_deadline_round_trip()
    {
        await using var dcs = etcd.NewDcs();
        await dcs.PublishLeaderPositionAsync(new LeaderOptime(3, 0x5000060), Ct);
        var request = new FailoverRequest(FailoverKind.Failover, null, "pg3", DateTimeOffset.UnixEpoch) { Deadline = DateTimeOffset.UnixEpoch.AddSeconds(30) };
        await dcs.RequestFailoverAsync(request, Ct);
        var view = await dcs.ReadAsync(Ct);
        Assert.Equal(new LeaderOptime(3, 0x5000060), view.Optime);
        Assert.Equal(request, view.Failover);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(30), view.Failover!.ExpiresAt);
    }

    [Fact]
    public async Task Config_failover_and_history_round_trip()
    {
        await using var dcs = etcd.NewDcs();
        var config = new DcsConfig { Ttl = 30, LoopWait = 10, MaximumLagOnFailover = 123, SynchronousMode = true, Paused = true };
        var failover = new FailoverRequest(FailoverKind.Switchover, "pg1", "pg2", new DateTimeOffset(2025, 5, 6, 7, 8, 9, TimeSpan.Zero));
        var first = new TimelineHistoryEntry(2, 0x3000060, "pg2", "pg1 unreachable", new DateTimeOffset(2025, 5, 6, 7, 8, 10, TimeSpan.Zero));
        var second = new TimelineHistoryEntry(3, 0x4000000, "pg1", "switchover", new DateTimeOffset(2025, 5, 6, 7, 9, 0, TimeSpan.Zero));

        await dcs.WriteConfigAsync(config, Ct);
        await dcs.RequestFailoverAsync(failover, Ct);
        await dcs.AppendHistoryAsync(first, Ct);
        await dcs.AppendHistoryAsync(second, Ct);
        await dcs.AppendHistoryAsync(second, Ct); // a retried append does not duplicate

        var view = await dcs.ReadAsync(Ct);
        Assert.Equal(config, view.Config);
        Assert.Equal(failover, view.Failover);
        // ImmutableArray's own Equals compares references: compare the contents.
        Assert.Equal(new[] { first, second }, view.History.ToArray());

        await dcs.ClearFailoverAsync(Ct);
        Assert.Null((await dcs.ReadAsync(Ct)).Failover);
    }

    [Fact]
    public async Task Concurrent_history_appends_are_all_kept()
    {
        var cluster = EtcdFixture.NewClusterName();
        var writers = Enumerable.Range(0, 4).Select(_ => etcd.NewDcs(cluster)).ToList();
        try
        {
            var at = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
            await Task.WhenAll(writers.Select((w, i) => w.AppendHistoryAsync(new TimelineHistoryEntry(i + 2, i, $"pg{i}", "test", at), Ct)));
            var history = (await writers[0].ReadAsync(Ct)).History;
            Assert.Equal([2, 3, 4, 5], history.Select(h => h.Timeline).Order());
        }
        finally
        {
            foreach (var w in writers)
            {
                await w.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Garbled_values_are_skipped_without_breaking_the_read()
    {
        var cluster = EtcdFixture.NewClusterName();
        await using var dcs = etcd.NewDcs(cluster);
        await dcs.PublishMemberAsync(Members.Sample("pg1"), TimeSpan.FromSeconds(30), Ct);
        using (var raw = new EtcdClient(etcd.Endpoint))
        {
            var prefix = $"/pgwarden/{cluster}/";
            await raw.PutAsync(prefix + "members/pg2", "{not json");
            await raw.PutAsync(prefix + "members/pg3", "null");
            await raw.PutAsync(prefix + "members/pg4", "[1,2,3]");
            await raw.PutAsync(prefix + "members/pg5", "{\"role\":\"no_such_role\"}");
            await raw.PutAsync(prefix + "config", "[\"not\",\"a\",\"config\"]");
            await raw.PutAsync(prefix + "failover", "42");
            await raw.PutAsync(prefix + "history", "{\"timeline\":1}");
            await raw.PutAsync(prefix + "sync", "\u0001\u0002");
            await raw.PutAsync(prefix + "something_newer", "whatever");
        }

        var view = await dcs.ReadAsync(Ct);
        Assert.Equal(["pg1"], view.Members.Keys);
        Assert.Equal(new DcsConfig(), view.Config);
        Assert.Null(view.Failover);
        Assert.Empty(view.History);
        Assert.Null(view.SyncStandby);

        // And a history that cannot be read is replaced rather than blocking every promotion.
        var entry = new TimelineHistoryEntry(2, 1, "pg1", "test", DateTimeOffset.UnixEpoch);
        await dcs.AppendHistoryAsync(entry, Ct);
        Assert.Equal(new[] { entry }, (await dcs.ReadAsync(Ct)).History.ToArray());
    }

    [Fact]
    public async Task A_dead_endpoint_in_the_list_is_skipped()
    {
        var (deadPort, _) = TestPorts.Take(); // nothing listens there
        var cluster = EtcdFixture.NewClusterName();
        await using var dcs = new EtcdDcs(cluster, [$"http://127.0.0.1:{deadPort}", etcd.Endpoint]);

        var watch = Stopwatch.StartNew();
        Assert.True(await dcs.TryInitializeAsync("pg1", Ct));
        output.WriteLine($"first call with the first endpoint dead: {watch.ElapsedMilliseconds} ms");
        watch.Restart();
        Assert.Equal("pg1", (await dcs.ReadAsync(Ct)).Initialize);
        output.WriteLine($"next call (sticks to the live endpoint): {watch.ElapsedMilliseconds} ms");
    }
}
