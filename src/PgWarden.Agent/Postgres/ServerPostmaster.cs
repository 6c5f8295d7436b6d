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
        var stopped = await process.StopAsync(signal, grace);
        if (!stopped)
        {
            // The postmaster was killed; its backends must not live on.
            ProcessTree.KillTree(process.Pid);
        }
        return stopped;
    }

    public void Reload() => process.Signal(Libc.SIGHUP);

    public int KillTree() => ProcessTree.KillTree(process.Pid);

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
