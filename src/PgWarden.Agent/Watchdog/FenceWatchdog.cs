using System.Diagnostics;

namespace PgWarden.Agent.Watchdog;

/// <summary>
/// `pgwarden watchdog`: the fence that does not depend on the agent. A small process of its own
/// (started by the agent, fed on its standard input) that SIGKILLs the watched postmaster and every
/// backend when the deadline it was last given passes — so a primary stops accepting writes before
/// its lease can expire even when its agent is stopped (SIGSTOP), blocked, in a long GC pause or
/// dead. Lines it reads (deadlines are CLOCK_MONOTONIC nanoseconds, as <see cref="Stopwatch.GetTimestamp"/>):
/// <c>watch PID</c> (0: none), <c>arm DEADLINE</c>, <c>disarm</c>, <c>ping</c>; it answers each with
/// <c>ok</c>. When it fences it prints <c>fenced PID N</c>. When its input closes (the agent died) it
/// fences at once if armed, then exits. Its limits (a frozen host, a frozen watchdog) are in
/// docs/ha-safety.md.
/// </summary>
/// <param name="releaseLease">Called with the lease id the agent last held, once the postmaster is dead: it deletes the node's leader key if it still hangs on that lease (null: no release).</param>
public sealed class FenceWatchdog(TextReader input, TextWriter output, TextWriter log, Func<int, int> killTree, Func<long, Task<bool>>? releaseLease = null)
{
    private readonly object _lock = new();
    private int _pid;
    private long? _startTime;
    private long? _deadline;
    private long _lease;
    private bool _inputClosed;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var reader = new Thread(ReadCommands) { IsBackground = true, Name = "watchdog-input" };
        reader.Start();
        while (!ct.IsCancellationRequested)
        {
            lock (_lock)
            {
                var now = Stopwatch.GetTimestamp();
                if (_deadline is { } deadline && now >= deadline)
                {
                    Fence($"its lease deadline passed {(now - deadline) / (double)Stopwatch.Frequency:0.000} s ago without a renewal");
                }
                if (_inputClosed)
                {
                    if (_deadline is not null)
                    {
                        Fence("the agent is gone (its pipe closed) while this node may write");
                    }
                    return 0;
                }
                var wait = _deadline is { } d ? TimeSpan.FromSeconds(Math.Max(0, d - now) / (double)Stopwatch.Frequency) : TimeSpan.FromSeconds(1);
                Monitor.Wait(_lock, wait > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait + TimeSpan.FromMilliseconds(1));
            }
        }
        await Task.CompletedTask;
        return 0;
    }

    private void ReadCommands()
    {
        while (input.ReadLine() is { } line)
        {
            lock (_lock)
            {
                Apply(line.Trim());
                Monitor.PulseAll(_lock);
            }
            output.WriteLine("ok");
            output.Flush();
        }
        lock (_lock)
        {
            _inputClosed = true;
            Monitor.PulseAll(_lock);
        }
    }

    private void Apply(string line)
    {
        var parts = line.Split(' ', 2);
        switch (parts[0])
        {
            case "watch" when parts.Length == 2 && int.TryParse(parts[1], out var pid):
                _pid = pid;
                _startTime = pid > 0 ? ProcessTree.StartTime(pid) : null;
                break;
            case "arm" when parts.Length == 2 && parts[1].Split(' ') is var args && long.TryParse(args[0], out var deadline):
                _deadline = deadline;
                _lease = args.Length > 1 && long.TryParse(args[1], out var lease) ? lease : 0;
                break;
            case "disarm":
                _deadline = null;
                break;
            case "ping":
                break;
            default:
                log.WriteLine($"pgwarden watchdog: ignored an unknown instruction \"{line}\"");
                break;
        }
    }

    private void Fence(string why)
    {
        _deadline = null;
        if (_pid <= 0 || _startTime is null || ProcessTree.StartTime(_pid) != _startTime)
        {
            log.WriteLine($"pgwarden watchdog: {why}; no postmaster to fence");
            return;
        }
        var killed = killTree(_pid);
        log.WriteLine($"pgwarden watchdog: fenced PostgreSQL (postmaster PID {_pid}, {killed} processes killed): {why}");
        log.Flush();
        output.WriteLine($"fenced {_pid} {killed}");
        output.Flush();
        _pid = 0;
        _startTime = null;
        ReleaseLease();
    }

    /// <summary>
    /// PostgreSQL is dead: the lease it wrote under may go now rather than at its expiry, so a
    /// replica takes over at once (only that lease: a later holder's key is never touched).
    /// </summary>
    private void ReleaseLease()
    {
        var lease = _lease;
        _lease = 0;
        if (releaseLease is null || lease == 0)
        {
            return;
        }
        try
        {
            var release = releaseLease(lease);
            var released = release.Wait(TimeSpan.FromSeconds(3)) && release.Result;
            log.WriteLine(released ? $"pgwarden watchdog: released the leader lease {lease:x} of the fenced node" : $"pgwarden watchdog: the leader lease {lease:x} was not released (it expires by itself)");
        }
        catch (AggregateException e)
        {
            log.WriteLine($"pgwarden watchdog: could not release the leader lease (it expires by itself): {e.GetBaseException().Message}");
        }
        log.Flush();
    }
}
