using System.Collections.Immutable;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Core.Tests;

/// <summary>Builders for HA decision tests: cluster views and local states in a few words.</summary>
internal static class HaTestData
{
    public static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    public const long MiB = 1024 * 1024;

    public static MemberInfo Member(string name, NodeRole role, long wal, bool running = true, int priority = 100, bool noFailover = false, long timeline = 1, bool slotsReady = true) =>
        new(name, role, role == NodeRole.Replica ? "streaming" : "running", running, timeline, wal, wal, $"http://{name}:8008", name, 5432, priority, noFailover, Now)
        {
            CheckpointTimeline = timeline,
            SlotsReady = role == NodeRole.Primary && slotsReady,
        };

    public static MemberInfo Promoting(string name, long wal, long timeline) =>
        Member(name, NodeRole.Primary, wal, timeline: timeline) with { CheckpointTimeline = timeline - 1 };

    public static MemberInfo CleanlyStopped(string name, long wal, long timeline = 1) =>
        Member(name, NodeRole.Stopped, wal, running: false, timeline: timeline) with { CleanlyStopped = true };

    /// <summary>A view with these members (a later member of the same name replaces an earlier one).</summary>
    public static ClusterView View(string? leader, params MemberInfo[] members) =>
        new(leader is null ? null : new LeaderInfo(leader, 42), members.GroupBy(m => m.Name).ToImmutableDictionary(g => g.Key, g => g.Last()), new DcsConfig(), "pg1", null, [], null);

    public static ClusterView With(this ClusterView view, DcsConfig config) => view with { Config = config };

    public static ClusterView With(this ClusterView view, FailoverRequest request) => view with { Failover = request };

    public static ClusterView WithHistory(this ClusterView view, long timeline, string newLeader) =>
        view with { History = view.History.Add(new TimelineHistoryEntry(timeline, 0, newLeader, "test", Now)) };

    public static FailoverRequest Switchover(string from, string to) => new(FailoverKind.Switchover, from, to, Now.AddSeconds(-1));

    public static FailoverRequest Failover(string to) => new(FailoverKind.Failover, null, to, Now.AddSeconds(-1));

    private static readonly string[] s_nodes = ["pg1", "pg2", "pg3"];

    private static IReadOnlyList<string> PeersOf(string name) => [.. s_nodes.Where(n => n != name)];

    public static LocalState Replica(string name, long wal, long timeline = 1, string? upstream = "pg1") => new(name)
    {
        Data = LocalDataState.Standby, Postmaster = PostmasterState.Running, Role = NodeRole.Replica,
        Timeline = timeline, WalPosition = wal, Upstream = upstream, Peers = PeersOf(name),
    };

    public static LocalState Primary(string name, long wal, TimeSpan? lease = null, long timeline = 1) => new(name)
    {
        Data = LocalDataState.Primary, Postmaster = PostmasterState.Running, Role = NodeRole.Primary,
        Timeline = timeline, WalPosition = wal, LeaseRemaining = lease, Peers = PeersOf(name),
    };

    public static LocalState Stopped(string name, LocalDataState data, long timeline = 1, long? cleanEnd = null, PostmasterState state = PostmasterState.Stopped) => new(name)
    {
        Data = data, Postmaster = state, Timeline = timeline, WalPosition = cleanEnd, CleanShutdown = cleanEnd is not null, Peers = PeersOf(name),
    };

    public static LocalState Empty(string name) => new(name) { Data = LocalDataState.Empty, Peers = PeersOf(name) };

    public static HaDecision Decide(ClusterView? view, LocalState local) => HaDecider.Decide(view, local, Now, Ttl);

    public static T Is<T>(HaDecision d) where T : HaDecision
    {
        var t = Assert.IsType<T>(d);
        Assert.False(string.IsNullOrWhiteSpace(t.Reason));
        return t;
    }
}
