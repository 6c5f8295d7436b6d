using System.Collections.Concurrent;
using System.Diagnostics;
using PgWarden.Agent.Watchdog;

namespace PgWarden.Agent.Tests;

/// <summary>The fence process's rules, with the kill replaced by a recorder (real time, short deadlines).</summary>
public sealed class FenceWatchdogTests
{
    /// <summary>Standard input as the watchdog reads it: lines the test writes, then end of file.</summary>
    private sealed class Input : TextReader
    {
        private readonly BlockingCollection<string> _lines = [];

        public void Send(string line) => _lines.Add(line);

        public void End() => _lines.CompleteAdding();

        public override string? ReadLine()
        {
            try
            {
                return _lines.Take();
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    private static string Ms(int milliseconds) => (Stopwatch.GetTimestamp() + milliseconds * Stopwatch.Frequency / 1000).ToString();

    private static readonly ConcurrentQueue<long> Released = new();

    private static (Input In, ConcurrentQueue<int> Killed, Task<int> Run) Start()
    {
        var input = new Input();
        var killed = new ConcurrentQueue<int>();
        var watchdog = new FenceWatchdog(input, TextWriter.Null, TextWriter.Null, pid => { killed.Enqueue(pid); return 3; },
            lease => { Released.Enqueue(lease); return Task.FromResult(true); });
        return (input, killed, Task.Run(() => watchdog.RunAsync(CancellationToken.None)));
    }

    [Fact]
    public async Task ItKillsTheWatchedPostmasterWhenTheDeadlinePassesWithoutARenewal()
    {
        var (input, killed, run) = Start();
        input.Send($"watch {Environment.ProcessId}");
        var armed = Stopwatch.StartNew();
        input.Send($"arm {Ms(1000)}");
        await AgentHarness.EventuallyAsync(() => !killed.IsEmpty, "the fence");
        Assert.InRange(armed.ElapsedMilliseconds, 900, 5000);
        Assert.Equal([Environment.ProcessId], killed);
        input.End();
        Assert.Equal(0, await run);
    }

    [Fact]
    public async Task ARenewalMovesTheDeadlineAndDisarmStopsIt()
    {
        var (input, killed, run) = Start();
        input.Send($"watch {Environment.ProcessId}");
        input.Send($"arm {Ms(1000)}");
        input.Send($"arm {Ms(2500)}");
        await Task.Delay(1500);
        Assert.Empty(killed);
        input.Send("disarm");
        await Task.Delay(1500);
        Assert.Empty(killed);
        input.End();
        await run;
        Assert.Empty(killed);
    }

    [Fact]
    public async Task WhenTheAgentDiesWhileArmedItFencesAtOnce()
    {
        var (input, killed, run) = Start();
        input.Send($"watch {Environment.ProcessId}");
        input.Send($"arm {Ms(60_000)} 987654");
        await Task.Delay(50);
        input.End();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([Environment.ProcessId], killed);
        // Only after the kill: the lease it wrote under is released so another node need not wait for its expiry.
        Assert.Contains(987654L, Released);
    }

    [Fact]
    public async Task WithoutAWatchedPostmasterNothingIsKilled()
    {
        var (input, killed, run) = Start();
        input.Send("watch 0");
        input.Send($"arm {Ms(50)}");
        await Task.Delay(200);
        input.End();
        await run;
        Assert.Empty(killed);
    }
}
