using PgWarden.Agent.Ha;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>
/// One node's agent against the in-memory DCS, a fake PostgreSQL, a fake watchdog, fake peers and
/// virtual time. <see cref="CycleAsync"/> runs one HA cycle and lets the long action it started finish
/// (unless a gate holds it), then advances the clock by loop_wait.
/// </summary>
public sealed class AgentHarness
{
    public const string ThreeNodes = """
        cluster: unit
        hardware: { ram: 1GB, cpus: 2, storage: ssd }
        nodes:
          - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }
          - { name: pg2, address: 127.0.0.2, port: 5532, api_port: 8008 }
          - { name: pg3, address: 127.0.0.3, port: 5532, api_port: 8008 }
        """;

    public AgentHarness(string node, FakeClock? clock = null, InMemoryDcs? dcs = null, string yaml = ThreeNodes)
    {
        Clock = clock ?? new FakeClock();
        Dcs = dcs ?? new InMemoryDcs(Clock);
        Cluster = ConfigLoader.Parse(yaml, "unit.yaml", "/tmp/pgwarden-unit");
        Node = new FakeNode(node);
        Watchdog = new FakeWatchdog(Node.Journal.Enqueue);
        State = new NodeState(node);
        Agent = new NodeAgent(Cluster, Cluster.Node(node), Dcs, Node, Peers, Watchdog, Clock, State, Events);
    }

    public FakeClock Clock { get; }

    public InMemoryDcs Dcs { get; }

    public ClusterConfig Cluster { get; }

    public FakeNode Node { get; }

    public FakePeers Peers { get; } = new();

    public FakeWatchdog Watchdog { get; }

    public RecordingEvents Events { get; } = new();

    public NodeState State { get; }

    public NodeAgent Agent { get; }

    /// <summary>pg1 of a cluster it initialised, running as the leader (its actions so far taken).</summary>
    public static async Task<AgentHarness> RunningLeaderAsync()
    {
        var h = new AgentHarness("pg1");
        h.Dcs.Seed(initialize: "pg1");
        h.Node.AsPrimary();
        await h.CycleUntilAsync(d => d is HaDecision.Lead && h.Node.Running);
        h.Node.TakeActions();
        return h;
    }

    /// <summary><paramref name="name"/> streaming from pg1, which leads with a lease of <paramref name="leaseTtl"/> (its actions so far taken).</summary>
    public static async Task<AgentHarness> StreamingReplicaAsync(string name = "pg2", long position = 0x3000000, TimeSpan? leaseTtl = null)
    {
        var h = new AgentHarness(name);
        h.Dcs.Seed(initialize: "pg1");
        h.Node.AsStandby(position);
        h.Dcs.ForceLeader("pg1", leaseTtl ?? TimeSpan.FromMinutes(5));
        h.Member("pg1", NodeRole.Primary, position);
        await h.CycleUntilAsync(d => d is HaDecision.Follow && h.Node.Running);
        h.Node.TakeActions();
        return h;
    }

    /// <summary>One cycle; the long action it starts runs to its end (or its gate); then loop_wait passes.</summary>
    public async Task<HaDecision> CycleAsync(bool waitForAction = true, TimeSpan? advance = null)
    {
        var decision = await Agent.RunCycleAsync(CancellationToken.None);
        if (waitForAction)
        {
            await Agent.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        Clock.Advance(advance ?? TimeSpan.FromSeconds(1));
        return decision;
    }

    /// <summary>Cycles until <paramref name="done"/> holds; fails after <paramref name="max"/> cycles.</summary>
    public async Task<HaDecision> CycleUntilAsync(Func<HaDecision, bool> done, int max = 20)
    {
        for (var i = 0; i < max; i++)
        {
            var d = await CycleAsync();
            if (done(d))
            {
                return d;
            }
        }
        throw new Xunit.Sdk.XunitException($"no matching decision within {max} cycles; last decisions:\n{string.Join('\n', Events.Decisions.TakeLast(8))}");
    }

    /// <summary>Waits (real time, at most 10 s) until a background action reached a point the test can see.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"timed out waiting for {what}");
            }
            await Task.Delay(5);
        }
    }

    /// <summary>Publishes another node's member key as its agent would.</summary>
    public void Member(string name, NodeRole role, long position, long timeline = 1, bool running = true, string state = "streaming", bool slotsReady = true,
        HotStandbySettings? settings = null) =>
        Dcs.SetMember(new MemberInfo(name, role, role == NodeRole.Primary ? "running" : state, running, timeline, position, position,
            $"http://{name}:8008", name, 5432, 100, false, Clock.GetUtcNow())
        {
            CheckpointTimeline = timeline,
            SlotsReady = role == NodeRole.Primary && slotsReady,
            HotStandby = settings,
        });

    public long Now => Clock.GetTimestamp();
}

/// <summary>The agent's events, kept for assertions.</summary>
public sealed class RecordingEvents : AgentEvents
{
    private readonly Lock _lock = new();

    public List<string> Decisions { get; } = [];

    public List<string> Failures { get; } = [];

    public int Promotions { get; private set; }

    public override void Decided(string reason)
    {
        lock (_lock)
        {
            Decisions.Add(reason);
        }
    }

    public override void Failed(string message)
    {
        lock (_lock)
        {
            Failures.Add(message);
        }
    }

    public override void Promoted() => Promotions++;
}
