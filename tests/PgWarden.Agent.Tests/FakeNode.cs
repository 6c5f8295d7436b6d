using System.Collections.Concurrent;
using PgWarden.Agent.Ha;
using PgWarden.Core.Config;
using PgWarden.Core.Ha;
using PgWarden.Postgres.Sql;

namespace PgWarden.Agent.Tests;

/// <summary>
/// A node's PostgreSQL as a small state machine: a data directory (empty, primary, standby), a
/// postmaster that starts at once, and the positions a status query reports. Every operation is
/// written to <see cref="Actions"/> ("initdb", "start replica of pg1", "stop Fast", "promote" …), so a
/// test asserts what the agent did. Faults: <see cref="Hung"/>, <see cref="Crash"/>, scripted
/// rewind outcomes, gates that hold an operation until the test opens them.
/// </summary>
public sealed class FakeNode(string name) : IPostgresNode
{
    private readonly Lock _lock = new();
    private FakePostmaster? _postmaster;
    private int _nextPid = 1000;

    public string Name { get; } = name;

    public ConcurrentQueue<string> Actions { get; } = new();

    public LocalDataState Data { get; set; } = LocalDataState.Empty;

    public bool InRecovery { get; set; }

    public long Timeline { get; set; } = 1;

    public long CheckpointTimeline { get; set; } = 1;

    public long Position { get; set; } = 0x3000000;

    public DatabaseClusterState ControlState { get; set; } = DatabaseClusterState.ShutDown;

    public long CheckpointLsn { get; set; } = 0x3000000;

    public HotStandbySettings Settings { get; set; } = new(100, 8, 10, 0, 64);

    public HotStandbySettings ControlSettings { get; set; } = new(100, 8, 10, 0, 64);

    /// <summary>The floor the last replica configuration was written with.</summary>
    public HotStandbySettings? LastFloor { get; private set; }

    public string? Upstream { get; private set; }

    /// <summary>The WAL receiver cannot stream (a diverged replica keeps retrying, never streaming).</summary>
    public bool StreamingFails { get; set; }

    public string? WalReceiver => Running && InRecovery && Upstream is not null ? (StreamingFails ? "waiting" : "streaming") : null;

    public bool Running => _postmaster is { HasExited: false };

    /// <summary>Status queries time out (a frozen postmaster).</summary>
    public bool Hung { get; set; }

    /// <summary>Outcomes of the next pg_rewind runs, in order (default: success).</summary>
    public ConcurrentQueue<RewindOutcome> RewindOutcomes { get; } = new();

    /// <summary>Operations that wait for the test: name → gate ("bootstrap", "rewind", "clone", "promote").</summary>
    public ConcurrentDictionary<string, TaskCompletionSource> Gates { get; } = new();

    public int SlotsEnsuredOnStandby { get; private set; }

    public List<string> Aside { get; } = [];

    public FakeNode AsPrimary(long position = 0x3000000, long timeline = 1) =>
        WithData(LocalDataState.Primary, DatabaseClusterState.ShutDown, position, timeline);

    public FakeNode AsStandby(long position = 0x3000000, long timeline = 1) =>
        WithData(LocalDataState.Standby, DatabaseClusterState.ShutDownInRecovery, position, timeline);

    private FakeNode WithData(LocalDataState data, DatabaseClusterState controlState, long position, long timeline)
    {
        Data = data;
        InRecovery = data == LocalDataState.Standby;
        Position = position;
        CheckpointLsn = position;
        Timeline = CheckpointTimeline = timeline;
        ControlState = controlState;
        return this;
    }

    public Task<LocalDataState> InspectAsync(CancellationToken ct) => Task.FromResult(Data);

    public Task<ControlData> ReadControlDataAsync(CancellationToken ct) =>
        Task.FromResult(new ControlData("7000000000000000001", ControlState, CheckpointLsn, CheckpointTimeline, 0, 0, ControlSettings));

    public async Task InitDbAsync(CancellationToken ct)
    {
        await GateAsync("initdb");
        Record("initdb");
        RecordedRewindBound = null;
        AsPrimary();
    }

    public async Task CloneAsync(NodeConfig source, CancellationToken ct)
    {
        await GateAsync("clone");
        Record($"clone {source.Name}");
        RecordedRewindBound = null;
        AsStandby();
    }

    public async Task<RewindOutcome> RewindAsync(NodeConfig source, CancellationToken ct)
    {
        await GateAsync("rewind");
        Record($"rewind {source.Name}");
        RecordedRewindBound = null;
        var outcome = RewindOutcomes.TryDequeue(out var o) ? o : new RewindOutcome(true, false, "done");
        if (outcome.Succeeded)
        {
            ControlState = DatabaseClusterState.ShutDownInRecovery;
            RecordedRewindBound = BoundAfterRewind;
        }
        return outcome;
    }

    /// <summary>What a successful rewind records (the source's WAL end, in the real node read from pg_controldata).</summary>
    public RewindBound? BoundAfterRewind { get; set; }

    /// <summary>The recorded rewind bound, as the real node keeps it in a file.</summary>
    public RewindBound? RecordedRewindBound { get; set; }

    public RewindBound? ReadRewindBound() => RecordedRewindBound;

    public void ForgetRewindBound() => RecordedRewindBound = null;

    /// <summary>A replica that has streamed nothing since it started (pg_last_wal_receive_lsn() is null).</summary>
    public bool ReceivedNothing { get; set; }

    /// <summary>Its startup process's wait event ("" while replaying; the default: waiting for WAL from any source).</summary>
    public string StartupWaitEvent { get; set; } = "RecoveryRetrieveRetryInterval";

    /// <summary>The startup process's PID (a new one after the postmaster reinitialises after a backend crash).</summary>
    public int StartupPid { get; set; } = 4242;

    /// <summary>A started postmaster answers no query (a rewound node that cannot reach consistency without its source).</summary>
    public bool NeverConsistent { get; set; }

    public string MoveDataAside(string why)
    {
        var aside = $"data.{why}-{Aside.Count + 1}";
        Aside.Insert(0, aside);
        Record($"move aside {why}");
        RecordedRewindBound = null;
        Data = LocalDataState.Empty;
        return aside;
    }

    public IReadOnlyList<(string Path, long Bytes)> AsideCopies() => [.. Aside.Select(a => (a, 1000L))];

    public IReadOnlyList<string> PruneAsideCopies(int keep)
    {
        var removed = Aside.Skip(keep).ToList();
        Aside.RemoveRange(Math.Min(keep, Aside.Count), removed.Count);
        return removed;
    }

    /// <summary>The DCS parameters of the last configuration written.</summary>
    public IReadOnlyDictionary<string, string> LastParameters { get; private set; } = new Dictionary<string, string>();

    /// <summary>SIGHUPs sent to the running postmaster.</summary>
    public int Reloads { get; set; }

    public void WriteConfiguration(NodeConfig? upstream, bool standby, HotStandbySettings? hotStandbyFloor, IReadOnlyDictionary<string, string> parameters)
    {
        LastParameters = parameters;
        Upstream = upstream?.Name;
        if (standby)
        {
            Data = LocalDataState.Standby;
            LastFloor = hotStandbyFloor;
            if (hotStandbyFloor is not null)
            {
                Settings = Settings.Max(hotStandbyFloor);
            }
        }
    }

    public void ClearStandbySignal()
    {
        if (Data == LocalDataState.Standby)
        {
            Data = LocalDataState.Primary;
        }
    }

    public IPostmaster StartPostmaster()
    {
        lock (_lock)
        {
            InRecovery = Data == LocalDataState.Standby;
            Record(InRecovery ? $"start replica of {Upstream ?? "none"}" : "start primary");
            _postmaster = new FakePostmaster(this, _nextPid++);
            return _postmaster;
        }
    }

    public Task<NodeStatusReader.Snapshot> QueryStatusAsync(CancellationToken ct)
    {
        if (Hung)
        {
            return Task.FromException<NodeStatusReader.Snapshot>(new TimeoutException("hung (test)"));
        }
        if (!Running || NeverConsistent)
        {
            return Task.FromException<NodeStatusReader.Snapshot>(new InvalidOperationException(Running ? "the database system is not yet accepting connections (test)" : "not running (test)"));
        }
        var lsn = Lsn.Format(Position);
        return Task.FromResult(new NodeStatusReader.Snapshot(InRecovery, Timeline, InRecovery ? null : lsn, InRecovery && !ReceivedNothing ? lsn : null,
            InRecovery ? lsn : null, 0, WalReceiver, Upstream, [], [])
        {
            StartupWaitEvent = InRecovery ? StartupWaitEvent : null,
            StartupPid = InRecovery ? StartupPid : null,
            CheckpointTimeline = CheckpointTimeline,
            HotStandby = Settings,
            ConfLoadTime = DateTimeOffset.UnixEpoch.AddSeconds(Reloads),
        });
    }

    public async Task PromoteAsync(CancellationToken ct)
    {
        await GateAsync("promote");
        Record("promote");
        InRecovery = false;
        Data = LocalDataState.Primary;
        Timeline++;
    }

    public async Task CheckpointAsync(CancellationToken ct)
    {
        await GateAsync("checkpoint");
        Record("checkpoint");
        CheckpointTimeline = Timeline;
    }

    public string SynchronousStandbyNames { get; private set; } = "";

    public Task<bool> SetSynchronousStandbyNamesAsync(string value, CancellationToken ct)
    {
        var changed = SynchronousStandbyNames != value;
        SynchronousStandbyNames = value;
        return Task.FromResult(changed);
    }

    public Task EnsureSlotsAsync(IReadOnlyList<string> slots, CancellationToken ct)
    {
        if (InRecovery)
        {
            SlotsEnsuredOnStandby++;
            Record("slots on standby");
        }
        return Task.CompletedTask;
    }

    public async Task BootstrapAsync(CancellationToken ct)
    {
        await GateAsync("bootstrap", ct);
        Record("bootstrap");
    }

    public void ClearConnectionPool()
    {
    }

    public long? TimelineLimit { get; private set; }

    public void SetTimelineLimit(long timeline) => TimelineLimit = timeline;

    /// <summary>The postmaster dies (SIGKILL, OOM killer …).</summary>
    public void Crash() => _postmaster?.Exit(137, clean: false);

    internal void Stopped(bool clean)
    {
        ControlState = clean ? (InRecovery ? DatabaseClusterState.ShutDownInRecovery : DatabaseClusterState.ShutDown) : DatabaseClusterState.InProduction;
        CheckpointLsn = Position;
        CheckpointTimeline = Timeline;
    }

    internal void Record(string action)
    {
        Actions.Enqueue(action);
        Journal.Enqueue(action);
    }

    /// <summary>The node's actions and the watchdog's instructions, in the order they happened.</summary>
    public ConcurrentQueue<string> Journal { get; } = new();

    /// <summary>Everything done since the last call, in order.</summary>
    public List<string> TakeActions()
    {
        var list = new List<string>();
        while (Actions.TryDequeue(out var a))
        {
            list.Add(a);
        }
        return list;
    }

    private Task GateAsync(string operation, CancellationToken ct = default) =>
        Gates.TryGetValue(operation, out var gate) ? gate.Task.WaitAsync(ct) : Task.CompletedTask;
}

/// <summary>The fake node's postmaster: exits when stopped, killed or crashed.</summary>
public sealed class FakePostmaster(FakeNode node, int pid) : IPostmaster
{
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Pid { get; } = pid;

    public Task Exited => _exited.Task;

    public bool HasExited => _exited.Task.IsCompleted;

    public int? ExitCode { get; private set; }

    public async Task<bool> StopAsync(ShutdownMode mode, TimeSpan grace)
    {
        node.Record($"stop {mode}");
        // Gates["stop"]: a shutdown that takes a while (the test releases it).
        if (node.Gates.TryGetValue("stop", out var gate))
        {
            await gate.Task;
        }
        Exit(0, clean: mode != ShutdownMode.Immediate);
        return true;
    }

    public void Reload()
    {
        node.Reloads++;
        node.Record($"reload (upstream {node.Upstream ?? "none"})");
    }

    public int KillTree()
    {
        node.Record("kill tree");
        Exit(137, clean: false);
        return 5;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    internal void Exit(int code, bool clean)
    {
        if (HasExited)
        {
            return;
        }
        node.Stopped(clean);
        ExitCode = code;
        _exited.TrySetResult();
    }
}
