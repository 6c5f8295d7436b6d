using System.Diagnostics;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Os;

namespace PgWarden.Postgres.Tools;

/// <summary>
/// A long-running server (postmaster, pgbouncer) started as a child of this process, so that its
/// exit is noticed at once. Its stdout/stderr are appended to a log file.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _pump;

    private int? _exitCode;

    private ServerProcess(Process process, Task pump)
    {
        _process = process;
        _pump = pump;
        Pid = process.Id;
        Exited = WaitAsync(process);
    }

    private async Task WaitAsync(Process process)
    {
        await process.WaitForExitAsync();
        _exitCode = process.ExitCode;
    }

    /// <summary>The PID, kept from the start: readable from any thread, also after the process object is disposed.</summary>
    public int Pid { get; }

    /// <summary>Completes when the server exits, for whatever reason.</summary>
    public Task Exited { get; }

    public bool HasExited => Exited.IsCompleted;

    public int? ExitCode => _exitCode;

    public static ServerProcess Start(ProcessLauncher launcher, ToolCommand command, string logFile)
    {
        var process = new Process { StartInfo = launcher.StartInfo(command, redirect: true) };
        DedicatedLauncherThread.Run(process.Start);
        process.StandardInput.Close();
        var pump = PumpAsync(process, logFile);
        return new ServerProcess(process, pump);
    }

    private static async Task PumpAsync(Process process, string logFile)
    {
        await using var log = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        async Task Copy(StreamReader reader)
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lock (log)
                {
                    log.WriteLine(line);
                }
            }
        }
        await Task.WhenAll(Copy(process.StandardOutput), Copy(process.StandardError));
    }

    public bool Signal(int signal) => !HasExited && Libc.Kill(Pid, signal);

    /// <summary>Sends <paramref name="signal"/> and waits; escalates to SIGKILL after <paramref name="grace"/>.</summary>
    public async Task<bool> StopAsync(int signal, TimeSpan grace)
    {
        if (HasExited)
        {
            return true;
        }
        Signal(signal);
        var done = await Task.WhenAny(Exited, Task.Delay(grace)) == Exited;
        if (!done)
        {
            Signal(Libc.SIGKILL);
            await Exited;
        }
        return done;
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            Signal(Libc.SIGKILL);
            await Exited;
        }
        await _pump;
        _process.Dispose();
    }
}
