using PgWarden.Backup;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Ha;
using PgWarden.Monitoring.Maintenance;

namespace PgWarden.Core.Tests;

/// <summary>What long commands say while they work: phase lines, lock waits, byte progress, a reinit followed to its end.</summary>
public sealed class ProgressTextTests
{
    [Fact]
    public void PhaseLinesCarryTheirTimes()
    {
        Assert.Equal("pgwarden: [12.3 s] pausing 2 PgBouncer(s)", PhaseLine.Plain(TimeSpan.FromSeconds(12.34), "pausing 2 PgBouncer(s)"));
        Assert.Equal("✓ checkpoint on pg1 (0.4 s)", PhaseLine.Done("checkpoint on pg1", TimeSpan.FromMilliseconds(420)));
        Assert.Equal("waiting (68 s)", PhaseLine.Running("waiting", TimeSpan.FromSeconds(68.2)));
    }

    private static readonly LockBlocker Blocker = new(4242, "app", "idle in transaction", "LOCK TABLE\n   books IN SHARE MODE", 40.4,
        "ShareUpdateExclusiveLock", "public.books", "ShareLock");

    [Fact]
    public void ALockWaitNamesTheLockTheBlockerItsStateAndItsQuery()
    {
        var text = LockWaitText.Describe("REINDEX INDEX CONCURRENTLY public.books_title", TimeSpan.FromSeconds(68), [Blocker]);
        Assert.Equal("REINDEX INDEX CONCURRENTLY public.books_title has waited 68 s for ShareUpdateExclusiveLock on public.books, held by " +
                     "PID 4242 (app, idle in transaction for 40 s, holds ShareLock): LOCK TABLE books IN SHARE MODE", text);
    }

    [Fact]
    public void SeveralBlockersAreAllNamed()
    {
        var second = Blocker with { Pid = 4343, User = null, State = "active", TransactionAgeSeconds = null, HeldModes = null, Query = "SELECT pg_sleep(100)" };
        var text = LockWaitText.Describe("REINDEX", TimeSpan.FromSeconds(3), [Blocker, second]);
        Assert.Contains("PID 4242 (", text, StringComparison.Ordinal);
        Assert.EndsWith("; PID 4343 (active): SELECT pg_sleep(100)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void NoBlockerMeansItRuns() =>
        Assert.Equal("REINDEX: running for 5 s, not waiting for a lock", LockWaitText.Describe("REINDEX", TimeSpan.FromSeconds(5), []));

    [Fact]
    public void ALongQueryIsCutToOneShortLine()
    {
        var shortened = LockWaitText.Shorten("SELECT " + new string('x', 300) + "\n FROM t")!;
        Assert.Equal(LockWaitText.QueryLength, shortened.Length);
        Assert.EndsWith("…", shortened, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', shortened);
        Assert.Null(LockWaitText.Shorten("   "));
    }

    [Fact]
    public void ByteProgressShowsPercentRateAndEta()
    {
        var line = Progress.Line("  checking files", 100L << 20, 25L << 20, TimeSpan.FromSeconds(5));
        Assert.Equal("  checking files: 25% · 25.0 MB of 100.0 MB at 5.0 MB/s, ETA 00:00:15", line);
        Assert.Equal("base backup: 10.0 MB at 2.0 MB/s", Progress.Line("base backup", null, 10L << 20, TimeSpan.FromSeconds(5)));
    }

    private static NodeStatus Node(NodeRole role, string state, string? receiver = null, string? action = null) =>
        new("pg2", role, state, role != NodeRole.Stopped, 1, null, null, null, null, null, null, null, [], []) { WalReceiver = receiver, Action = action };

    [Fact]
    public void AReinitIsDoneOnlyWhenTheReplicaStreamsAgainAfterLeavingStreaming()
    {
        var watcher = new ReinitWatcher();
        var streaming = Node(NodeRole.Replica, "streaming", "streaming");
        Assert.Equal("streams from the leader", watcher.Observe(streaming));
        Assert.False(watcher.Done); // the agent has not taken the request yet
        Assert.Null(watcher.Observe(streaming));
        Assert.Equal("re-cloning from pg1 (stopped, stopped)", watcher.Observe(Node(NodeRole.Stopped, "stopped", action: "re-cloning from pg1")));
        Assert.Equal("its agent does not answer (restarting?)", watcher.Observe(null));
        Assert.False(watcher.Done);
        Assert.Equal("replica, starting", watcher.Observe(Node(NodeRole.Replica, "starting")));
        Assert.Equal("streams from the leader", watcher.Observe(streaming));
        Assert.True(watcher.Done);
    }
}
