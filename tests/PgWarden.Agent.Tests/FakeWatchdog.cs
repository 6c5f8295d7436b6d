using PgWarden.Agent.Ha;

namespace PgWarden.Agent.Tests;

/// <summary>Records what the agent tells the fence: the watched postmaster and the deadline.</summary>
public sealed class FakeWatchdog(Action<string>? journal = null) : IWatchdog
{
    public int WatchedPid { get; private set; }

    /// <summary>The armed deadline (monotonic timestamp), null when disarmed.</summary>
    public long? Deadline { get; private set; }

    public int Arms { get; private set; }

    public bool Healthy { get; set; } = true;

    public void Watch(int pid)
    {
        WatchedPid = pid;
        journal?.Invoke($"watch {pid}");
    }

    /// <summary>The lease the watchdog may release after fencing.</summary>
    public long Lease { get; private set; }

    public void KeepWritableUntil(long timestamp, long lease)
    {
        Deadline = timestamp;
        Lease = lease;
        Arms++;
        journal?.Invoke("arm");
    }

    public void Disarm()
    {
        if (Deadline is not null)
        {
            journal?.Invoke("disarm");
        }
        Deadline = null;
    }
}
