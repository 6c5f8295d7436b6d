using PgWarden.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgWarden.IntegrationTests;

/// <summary>
/// Randomized fault schedules (<see cref="Nemesis"/>) against a real cluster while clients write
/// through PgBouncer and directly to every node. Checked: (a) synchronous mode loses no
/// acknowledged write, asynchronous mode loses no more than maximum_lag_on_failover allows and the
/// loss is reported; (b) never two writable primaries (fence probe); (c) once the faults stop, one
/// primary with every replica streaming within 60 s; (d) no PgBouncer left paused.
/// CI runs PGWARDEN_NEMESIS_SCHEDULES (default 2, new seeds every run: about 3.5 minutes of the suite) schedules; bench/nemesis.sh runs many more.
/// Every schedule prints its seed; PGWARDEN_NEMESIS_SEED replays one.
/// </summary>
public sealed class NemesisTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Schedules()
    {
        var count = int.TryParse(Environment.GetEnvironmentVariable("PGWARDEN_NEMESIS_SCHEDULES"), out var n) ? n : 2;
        var fixedSeed = int.TryParse(Environment.GetEnvironmentVariable("PGWARDEN_NEMESIS_SEED"), out var s) ? s : (int?)null;
        return Enumerable.Range(0, fixedSeed is null ? count : 1).Select(i => new object[] { i, fixedSeed ?? Random.Shared.Next() });
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public async Task ARandomFaultScheduleKeepsTheInvariants(int index, int seed)
    {
        var synchronous = seed % 2 == 0;
        var steps = int.TryParse(Environment.GetEnvironmentVariable("PGWARDEN_NEMESIS_STEPS"), out var st) ? st : 3;
        output.WriteLine($"nemesis schedule {index}: seed {seed} (replay: PGWARDEN_NEMESIS_SEED={seed}), {(synchronous ? "synchronous" : "asynchronous")} mode");
        var subnet = 100 + index % 20;
        await using var cluster = new TestCluster(subnet: subnet, poolerHost: 5,
            extraYaml: $"dcs: {{ embedded: true, endpoints: [http://127.0.{subnet}.9:2479], peer_url: http://127.0.{subnet}.9:2480, synchronous_mode: {(synchronous ? "true" : "false")} }}");
        await cluster.UpAsync();
        await using var probe = new WriteProbe(cluster);
        await probe.StartAsync();
        await using var fence = new FenceProbe(cluster, probe.Clock);
        await fence.StartAsync();
        var nemesis = new Nemesis(cluster, seed, output.WriteLine);
        var schedule = nemesis.Schedule(steps, TimeSpan.FromSeconds(12));
        output.WriteLine($"schedule: {string.Join("; ", schedule)}");
        try
        {
            await nemesis.RunAsync(schedule);
        }
        finally
        {
            await nemesis.HealAsync();
        }

        // (c) Convergence once the faults stop: anything killed is started again.
        var healed = probe.Now;
        await cluster.RunAsync("up", "--timeout", "60");
        int primary;
        try
        {
            primary = await ClusterFacts.WaitConvergedAsync(cluster, TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            output.WriteLine($"did not converge (seed {seed}); the agents' last log lines:\n{cluster.Logs(40)}");
            throw;
        }
        var converged = probe.Now - healed;
        await probe.WaitForSuccessAfterAsync(probe.Now, TimeSpan.FromSeconds(30));
        // (d) No pooler left paused.
        var status = await cluster.StatusJsonAsync();
        var paused = status.GetProperty("poolers").EnumerateArray().Where(p => p.GetProperty("paused").ValueKind == System.Text.Json.JsonValueKind.True).Select(p => p.GetProperty("name").GetString()).ToList();
        // (b) Never two writable primaries.
        var violations = fence.Violations();
        // (a) Acknowledged writes.
        var lost = await probe.LostAsync();
        var lostDirect = await fence.LostAsync();
        var summary = $"| {seed} | {(synchronous ? "sync" : "async")} | {string.Join("; ", schedule)} | pg{primary} | {converged.TotalSeconds:0.0} s | {probe.Acked.Count} / {lost.Count} | {fence.Acked.Count} / {lostDirect.Count} | {violations.Count} | {paused.Count} |";
        output.WriteLine(summary);
        Nemesis.Report(summary);
        Assert.True(violations.Count == 0, $"two writable primaries (seed {seed}): {fence.Describe(violations)}");
        Assert.True(paused.Count == 0, $"poolers left paused (seed {seed}): {string.Join(", ", paused)}");
        Assert.True(converged < TimeSpan.FromSeconds(60), $"converged only after {converged.TotalSeconds:0} s (seed {seed})");
        if (synchronous)
        {
            Assert.True(lost.Count == 0 && lostDirect.Count == 0, $"synchronous mode lost acknowledged writes (seed {seed}): through PgBouncer {string.Join(",", lost)}, direct {string.Join(",", lostDirect)}");
        }
        else
        {
            // A probe row is under 200 bytes of WAL: maximum_lag_on_failover (1 MB) bounds the loss far above any count seen.
            Assert.True(lost.Count + lostDirect.Count <= 1024 * 1024 / 200, $"asynchronous mode lost {lost.Count + lostDirect.Count} writes, more than maximum_lag_on_failover allows (seed {seed})");
        }
    }
}
