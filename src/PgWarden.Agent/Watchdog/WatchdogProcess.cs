using System.Diagnostics;
using PgWarden.Agent.Ha;
using PgWarden.Core.Errors;

namespace PgWarden.Agent.Watchdog;

/// <summary>
/// <see cref="IWatchdog"/> on a `pgwarden watchdog` child process (<see cref="FenceWatchdog"/>),
/// fed through its standard input. It is restarted (and told the current postmaster and deadline
/// again) when it exits, and killed and restarted when it stops acknowledging for
/// <see cref="AckTimeout"/> (e.g. someone froze it).
/// </summary>
public sealed class WatchdogProcess : IWatchdog, IAsyncDisposable
{
    /// <summary>An instruction not acknowledged within this long means the watchdog is not working.</summary>
    public static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(2);

    private readonly string _node;
    private readonly string? _configFile;
    private readonly Action<string> _log;
    private readonly Action<string> _warn;
    private readonly Lock _lock = new();
    private Process? _process;
    private int _pid;
    private long? _deadline;
    private long _lease;
    private long _sent;
    private long _acked;
    private long _oldestUnacked;

    private WatchdogProcess(string node, string? configFile, Action<string> log, Action<string> warn)
    {
        _node = node;
        _configFile = configFile;
        _log = log;
        _warn = warn;
    }

    /// <summary>Starts the watchdog process; throws OperationFailed when it cannot be started. With <paramref name="configFile"/> it releases the fenced node's lease.</summary>
    public static WatchdogProcess Start(string node, string? configFile, Action<string> log, Action<string> warn)
    {
        var watchdog = new WatchdogProcess(node, configFile, log, warn);
        lock (watchdog._lock)
        {
            watchdog.EnsureRunning();
        }
        return watchdog;
    }

    public void Watch(int pid)
    {
        lock (_lock)
        {
            _pid = pid;
            Send($"watch {pid}");
        }
    }

    public void KeepWritableUntil(long timestamp, long lease)
    {
        lock (_lock)
        {
            _deadline = timestamp;
            _lease = lease;
            Send($"arm {timestamp} {lease}");
        }
    }

    public void Disarm()
    {
        lock (_lock)
        {
            if (_deadline is null)
            {
                return;
            }
            _deadline = null;
            Send("disarm");
        }
    }

    /// <summary>Running and acknowledging; asks for an acknowledgement when all is quiet, and replaces a watchdog that stopped answering.</summary>
    public bool Healthy
    {
        get
        {
            lock (_lock)
            {
                if (_process is not { HasExited: false })
                {
                    EnsureRunning();
                    return false;
                }
                var waiting = Interlocked.Read(ref _acked) < _sent;
                if (waiting && Stopwatch.GetElapsedTime(_oldestUnacked) > AckTimeout)
                {
                    _warn($"the fence watchdog (PID {_process.Id}) stopped acknowledging; replacing it");
                    _process.Kill();
                    _process.WaitForExit(1000);
                    EnsureRunning();
                    return false;
                }
                if (!waiting)
                {
                    Send("ping");
                }
                return true;
            }
        }
    }

    private void EnsureRunning()
    {
        if (_process is { HasExited: false })
        {
            return;
        }
        _process?.Dispose();
        var self = Environment.ProcessPath ?? throw new PgWardenException(ExitCodes.OperationFailed, "cannot find the pgwarden executable to start the fence watchdog");
        var psi = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            psi.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
        }
        psi.ArgumentList.Add("watchdog");
        psi.ArgumentList.Add("--node");
        psi.ArgumentList.Add(_node);
        if (_configFile is not null)
        {
            psi.ArgumentList.Add("--config");
            psi.ArgumentList.Add(_configFile);
        }
        var process = Process.Start(psi) ?? throw new PgWardenException(ExitCodes.OperationFailed, "the fence watchdog did not start");
        _process = process;
        _sent = 0;
        Interlocked.Exchange(ref _acked, 0);
        _ = Task.Run(() => ReadAnswers(process));
        _log($"fence watchdog running (PID {process.Id})");
        // A new watchdog learns the current postmaster and deadline.
        Send($"watch {_pid}");
        if (_deadline is { } deadline)
        {
            Send($"arm {deadline} {_lease}");
        }
    }

    private void Send(string line)
    {
        if (_process is not { HasExited: false } process)
        {
            EnsureRunning();
            return;
        }
        try
        {
            if (Interlocked.Read(ref _acked) >= _sent)
            {
                _oldestUnacked = Stopwatch.GetTimestamp();
            }
            process.StandardInput.WriteLine(line);
            process.StandardInput.Flush();
            _sent++;
        }
        catch (IOException)
        {
            // It died: the next call starts a new one.
        }
    }

    private void ReadAnswers(Process process)
    {
        try
        {
            while (process.StandardOutput.ReadLine() is { } line)
            {
                if (line == "ok")
                {
                    Interlocked.Increment(ref _acked);
                }
                else if (line.StartsWith("fenced ", StringComparison.Ordinal))
                {
                    _warn($"the fence watchdog killed PostgreSQL ({line})");
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    /// <summary>Closes its input: it exits (fencing first only if still armed).</summary>
    public async ValueTask DisposeAsync()
    {
        Process? process;
        lock (_lock)
        {
            process = _process;
            _process = null;
        }
        if (process is null)
        {
            return;
        }
        try
        {
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            process.Kill();
        }
        process.Dispose();
    }
}
