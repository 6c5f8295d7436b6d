using PgWarden.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Network partitions across hosts (issue 12, item 1): every node, PgBouncer and etcd member in its
/// own network namespace (<see cref="NetnsBed"/>), a 3-member etcd, synchronous mode. Each scenario
/// cuts links (never processes), holds the cut, heals it, and runs the HA-safety checker: (a) no
/// acknowledged write lost — through PgBouncer (<see cref="WriteProbe"/>) and direct
/// (<see cref="FenceProbe"/>); (b) never two writable primaries — the fence probe writes to every
/// node every ~100 ms through its Unix socket, so a cut does not hide a writable node from it;
/// (c) convergence within 60 s of the heal — one primary, every replica streaming and caught up, still the
/// only writable node 8 s later, no PgBouncer paused.
/// Each scenario also asserts what the cluster must do while cut (fail over, keep its leader, or
/// stop writing). Outcomes are printed as a table row (docs/ha-safety.md, "Partitions across hosts").
/// </summary>
public sealed class NetnsPartitionTests(NetnsBedFixture fixture, ITestOutputHelper output) : IClassFixture<NetnsBedFixture>
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(8);

    private NetnsBed Bed => fixture.Bed;

    private static string Host(int node) => $"n{node}";

    private static string[] OtherNodes(int node) => [.. Enumerable.Range(1, 3).Where(n => n != node).Select(Host)];

    private static readonly string[] EtcdMembers = ["e1", "e2", "e3"];

    [Fact]
    public Task IsolatingThePrimaryEntirelyFailsOverAndTheOldPrimaryRejoins() =>
        RunAsync("primary isolated entirely", TimeSpan.FromSeconds(15),
            primary => Bed.IsolateAsync(Host(primary)),
            async (primary, _) => await ExpectFailoverAsync(primary));

    [Fact]
    public Task CuttingThePrimaryFromEtcdOnlyFailsOverWhileItsClientsAndReplicasStillReachIt() =>
        RunAsync("primary cut from etcd only", TimeSpan.FromSeconds(15),
            primary => Bed.CutAsync(Host(primary), EtcdMembers),
            async (primary, _) => await ExpectFailoverAsync(primary));

    [Fact]
    public Task APrimaryThatReachesEtcdButNotItsReplicasKeepsTheLease() =>
        RunAsync("primary cut from its replicas only (reaches etcd)", TimeSpan.FromSeconds(12),
            primary => Bed.CutAsync(Host(primary), OtherNodes(primary)),
            async (primary, hold) =>
            {
                await Task.Delay(hold);
                var writable = await ClusterFacts.WritableNodesAsync(Bed);
                Assert.True(writable.SequenceEqual([Bed.NodeName(primary)]),
                    $"the primary still holds the lease (it reaches etcd), so it alone may be writable; writable: {string.Join(", ", writable)}");
            });

    [Fact]
    public Task AReplicaCutFromTheOtherNodesLeavesThePrimaryWritingThroughTheOtherReplica() =>
        RunAsync("a replica cut from the other nodes only (reaches etcd)", TimeSpan.FromSeconds(12),
            primary => Bed.CutAsync(Host(primary % 3 + 1), OtherNodes(primary % 3 + 1)),
            async (primary, hold) =>
            {
                // Synchronous mode needs ANY 1 of the replicas: the one still connected keeps commits going.
                await Task.Delay(hold);
                var writable = await ClusterFacts.WritableNodesAsync(Bed);
                Assert.True(writable.SequenceEqual([Bed.NodeName(primary)]), $"the primary must stay the only writable node; writable: {string.Join(", ", writable)}");
                await using var conn = Bed.ThroughPooler(1);
                await conn.OpenAsync();
                await using var cmd = new Npgsql.NpgsqlCommand("CREATE TABLE IF NOT EXISTS netns_during (at timestamptz); INSERT INTO netns_during VALUES (now())", conn) { CommandTimeout = 5 };
                await cmd.ExecuteNonQueryAsync();
            });

    [Fact]
    public Task AnOldPrimaryThatClientsReachButEtcdAndItsReplicasDoNotStopsWriting() =>
        RunAsync("primary reached by clients and PgBouncers but not by etcd nor its replicas", TimeSpan.FromSeconds(15),
            primary => Bed.CutAsync(Host(primary), [.. EtcdMembers, .. OtherNodes(primary)]),
            async (primary, _) => await ExpectFailoverAsync(primary));

    [Fact]
    public Task LosingEtcdQuorumStopsEveryWriteAndTheClusterComesBackWithIt() =>
        RunAsync("etcd quorum lost (2 of 3 members isolated) and returned", TimeSpan.FromSeconds(12),
            async _ =>
            {
                await Bed.IsolateAsync("e1");
                await Bed.IsolateAsync("e2");
            },
            async (_, hold) =>
            {
                // The lease (5 s) cannot be renewed: the primary must have stopped writing before it could expire.
                await Task.Delay(hold);
                var writable = await ClusterFacts.WritableNodesAsync(Bed);
                Assert.True(writable.Count == 0, $"without etcd quorum no node may accept writes; writable: {string.Join(", ", writable)}");
            });

    [Fact]
    public Task IsolatingTheEtcdLeaderMemberKeepsTheInvariants() =>
        RunAsync("etcd raft leader's member isolated", TimeSpan.FromSeconds(12),
            async _ =>
            {
                var leader = await Bed.EtcdLeaderAsync();
                output.WriteLine($"isolating etcd member {leader} (the raft leader)");
                await Bed.IsolateAsync(leader);
            },
            async (_, hold) => await Task.Delay(hold));

    /// <summary>Within the hold a node other than the old primary must become the only writable one.</summary>
    private async Task ExpectFailoverAsync(int oldPrimary)
    {
        var name = Bed.NodeName(oldPrimary);
        var successor = await TestCluster.WaitForAsync(async () =>
        {
            var writable = await ClusterFacts.WritableNodesAsync(Bed);
            return writable.Count == 1 && writable[0] != name ? writable[0] : null;
        }, TimeSpan.FromSeconds(14), $"a node other than {name} to be the only writable one");
        // The cut stays a while longer: the old primary must not come back as a writer while cut.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var still = await ClusterFacts.WritableNodesAsync(Bed);
        Assert.True(still.SequenceEqual([successor]), $"{successor} took over, but 3 s later the writable nodes are: {string.Join(", ", still)}");
    }

    /// <summary>
    /// One scenario on the converged bed: probes start, <paramref name="inject"/> cuts links,
    /// <paramref name="during"/> checks what must happen while cut (within about <paramref name="hold"/>),
    /// the cut is healed (also on failure), then the invariants are checked.
    /// </summary>
    private async Task RunAsync(string scenario, TimeSpan hold, Func<int, Task> inject, Func<int, TimeSpan, Task> during)
    {
        var before = await ClusterFacts.WaitConvergedAsync(Bed, TimeSpan.FromSeconds(90));
        await Bed.ResetProbeTablesAsync();
        await using var probe = new WriteProbe(Bed);
        await probe.StartAsync();
        await using var fence = new FenceProbe(Bed, probe.Clock);
        await fence.StartAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var faultAt = probe.Now;
        output.WriteLine($"{scenario}: primary before pg{before}, fault at {faultAt.TotalSeconds:0.0} s");
        try
        {
            await inject(before);
            await during(before, hold);
        }
        catch (Exception)
        {
            output.WriteLine($"while cut:\n{Bed.Logs(25)}");
            throw;
        }
        finally
        {
            await Bed.HealAsync();
        }
        var healed = probe.Now;
        int after;
        try
        {
            after = await ClusterFacts.WaitConvergedAsync(Bed, Converge);
        }
        catch (TimeoutException)
        {
            output.WriteLine($"did not converge within {Converge.TotalSeconds:0} s of the heal:\n{Bed.Logs(40)}");
            throw;
        }
        var converged = probe.Now - healed;
        // Converged must mean settled: the same node stays the only writable one for a while (an
        // aftermath — a lease lost after etcd came back, say — must fail this scenario, not the next).
        await Task.Delay(Settle);
        var settled = await ClusterFacts.WritableNodesAsync(Bed);
        if (!settled.SequenceEqual([Bed.NodeName(after)]))
        {
            output.WriteLine($"not settled {Settle.TotalSeconds:0} s after converging on pg{after}:\n{Bed.Logs(40)}");
        }
        Assert.True(settled.SequenceEqual([Bed.NodeName(after)]), $"converged on pg{after}, but {Settle.TotalSeconds:0} s later the writable nodes are: {string.Join(", ", settled)}");
        await probe.WaitForSuccessAfterAsync(probe.Now, TimeSpan.FromSeconds(30));
        // No PgBouncer left paused (TESTING.md, convergence: every pooler resumed).
        var status = CliJson.Data((await Bed.CliAsync("status", "--json")).Stdout);
        var paused = status.GetProperty("poolers").EnumerateArray()
            .Where(p => p.GetProperty("paused").ValueKind == System.Text.Json.JsonValueKind.True).Select(p => p.GetProperty("name").GetString()).ToList();
        var unavailable = probe.UnavailableAfter(faultAt);
        var violations = fence.Violations();
        var lost = await probe.LostAsync();
        var lostDirect = await fence.LostAsync();
        var cancelledWaits = probe.SyncWaitCancelled().Select(c => (Id: c.Id, c.Present)).Concat(fence.SyncWaitCancelled().Select(c => (Id: c.Write.Seq, c.Present))).ToList();
        foreach (var w in fence.SyncWaitCancelled())
        {
            output.WriteLine($"direct write acknowledged with PostgreSQL's cancelled-synchronous-wait warning: seq {w.Write.Seq} on {w.Write.Node} (timeline {w.Write.Timeline}) started {w.Write.Started.TotalSeconds:0.00} s, answered {w.Write.Acked.TotalSeconds:0.00} s, {(w.Present ? "kept" : "lost")}");
        }
        // How long the old primary went on accepting writes while cut (the fence's view; writes answered after the heal excluded).
        var lastOld = fence.Acked.Where(w => w.Node == Bed.NodeName(before) && w.Started >= faultAt && w.Acked < healed).Select(w => (TimeSpan?)w.Acked).Max();
        output.WriteLine($"last write pg{before} acknowledged while cut: {(lastOld is { } l ? $"{(l - faultAt).TotalSeconds:0.00} s after the cut" : "none")}, cut healed {(healed - faultAt).TotalSeconds:0.00} s after it");
        output.WriteLine($"| {scenario} | pg{before} → pg{after} | {(unavailable == TimeSpan.MaxValue ? "—" : $"{unavailable.TotalSeconds:0.0} s")} | {converged.TotalSeconds:0.0} s | {probe.Acked.Count} / {lost.Count} | {fence.Acked.Count} / {lostDirect.Count} | {cancelledWaits.Count} / {cancelledWaits.Count(c => !c.Present)} | {violations.Count} |");
        foreach (var w in fence.Acked.Where(a => lostDirect.Contains(a.Seq)))
        {
            output.WriteLine($"lost direct write: seq {w.Seq} on {w.Node} (timeline {w.Timeline}) started {w.Started.TotalSeconds:0.00} s, acknowledged {w.Acked.TotalSeconds:0.00} s");
        }
        if (lost.Count + lostDirect.Count > 0)
        {
            output.WriteLine(Bed.Logs(60));
        }
        Assert.True(violations.Count == 0, $"two writable primaries: {fence.Describe(violations)}");
        Assert.True(paused.Count == 0, $"PgBouncers left paused: {string.Join(", ", paused)}");
        Assert.True(lost.Count == 0 && lostDirect.Count == 0, $"synchronous mode lost acknowledged writes: through PgBouncer {string.Join(",", lost)}, direct {string.Join(",", lostDirect)}");
    }
}
