namespace PgWarden.Agent.Tests;

/// <summary>
/// Virtual time for the HA engine: wall clock and monotonic timestamps move only when a test calls
/// <see cref="Advance"/> (the harness does, by loop_wait, after every cycle). Code that sleeps on
/// this clock wakes after a millisecond of real time without moving virtual time, so a background
/// action that waits for a deadline keeps polling until the test's cycles carry time past it.
/// </summary>
public sealed class FakeClock : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private long _ticks = 1_000_000_000;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _ticks;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Moves both clocks forward.</summary>
    public void Advance(TimeSpan by)
    {
        lock (_lock)
        {
            _now += by;
            _ticks += by.Ticks;
        }
    }

    /// <summary>A wall-clock step (NTP, an operator): the monotonic clock does not move.</summary>
    public void StepWallClock(TimeSpan by)
    {
        lock (_lock)
        {
            _now += by;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            _ = Task.Delay(1).ContinueWith(_ => callback(state), TaskScheduler.Default);
        }
        return new NoTimer();
    }

    private sealed class NoTimer : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => false;

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
