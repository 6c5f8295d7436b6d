using PgWarden.Agent.Ha;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Tools;

namespace PgWarden.Agent.Postgres;

/// <summary><see cref="IPostmaster"/> on a real postmaster (a <see cref="ServerProcess"/> child of the agent).</summary>
public sealed class ServerPostmaster(ServerProcess process) : IPostmaster
{
    public int Pid => process.Pid;

    public Task Exited => process.Exited;

    public bool HasExited => process.HasExited;

    public int? ExitCode => process.ExitCode;

    public async Task<bool> StopAsync(ShutdownMode mode, TimeSpan grace)
    {
        var signal = mode switch
        {
            ShutdownMode.Smart => Libc.SIGTERM,
            ShutdownMode.Fast => Libc.SIGINT,
            _ => Libc.SIGQUIT,
        };
        if (process.HasExited)
        {
            return true;
        }
        process.Signal(signal);
        if (await Task.WhenAny(process.Exited, Task.Delay(grace)) == process.Exited)
        {
            return true;
        }
        // Not stopped within the grace: freeze and kill the whole tree while the postmaster is still
        // its root (killed first, its backends would be re-parented and out of reach, finishing their statements).
        ProcessTree.KillTree(process.Pid);
        await Task.WhenAny(process.Exited, Task.Delay(TimeSpan.FromSeconds(5)));
        return false;
    }

    public void Reload() => process.Signal(Libc.SIGHUP);

    public int KillTree() => ProcessTree.KillTree(process.Pid);

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
