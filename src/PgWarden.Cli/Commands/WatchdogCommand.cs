using System.Runtime.InteropServices;
using PgWarden.Agent;
using PgWarden.Agent.Watchdog;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden watchdog --node NAME`: the fence process an agent starts for its node and feeds on its
/// standard input (<see cref="FenceWatchdog"/>). Not for users. It ignores SIGINT and SIGTERM (a
/// Ctrl+C or a stop of the agent's process group must not take the fence away while the agent
/// still runs); it ends when its input closes, or by SIGKILL.
/// </summary>
public static class WatchdogCommand
{
    /// <summary>Runs the watchdog when <paramref name="args"/> ask for it (parsed here, before the full command tree loads); null otherwise.</summary>
    public static Func<Task<int>>? TryParse(string[] args)
    {
        if (args is not ["watchdog", "--node", { Length: > 0 }])
        {
            return null;
        }
        return async () =>
        {
            using var ignoreInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
            using var ignoreTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true);
            Console.Out.Flush();
            return await new FenceWatchdog(Console.In, Console.Out, Console.Error, ProcessTree.KillTree).RunAsync(CancellationToken.None);
        };
    }
}
