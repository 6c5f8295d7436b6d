namespace PgWarden.Agent.Ha;

/// <summary>A running postmaster, a child process of the agent.</summary>
public interface IPostmaster : IAsyncDisposable
{
    int Pid { get; }

    /// <summary>Completes when the postmaster exits, for whatever reason.</summary>
    Task Exited { get; }

    bool HasExited { get; }

    int? ExitCode { get; }

    /// <summary>Asks it to stop in <paramref name="mode"/>; SIGKILLs it (and its backends) after <paramref name="grace"/>. False if it had to be killed.</summary>
    Task<bool> StopAsync(ShutdownMode mode, TimeSpan grace);

    /// <summary>SIGHUP: re-read the configuration files.</summary>
    void Reload();

    /// <summary>Fencing: freezes and SIGKILLs the postmaster and every backend at once. Returns how many processes were killed.</summary>
    int KillTree();
}
