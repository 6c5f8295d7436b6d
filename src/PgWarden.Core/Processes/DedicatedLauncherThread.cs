using System.Collections.Concurrent;

namespace PgWarden.Core.Processes;

/// <summary>
/// Starts server processes from one thread that lives as long as this process. Linux delivers a
/// child's parent-death signal (PR_SET_PDEATHSIG) when the *thread* that forked it exits, so
/// servers must not be forked from pool threads that come and go — only from this one.
/// </summary>
public static class DedicatedLauncherThread
{
    private static readonly BlockingCollection<Action> Work = new();

    static DedicatedLauncherThread()
    {
        var thread = new Thread(() =>
        {
            foreach (var action in Work.GetConsumingEnumerable())
            {
                action();
            }
        })
        {
            IsBackground = true,
            Name = "pgwarden-server-launcher",
        };
        thread.Start();
    }

    public static T Run<T>(Func<T> start)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            try
            {
                done.SetResult(start());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task.GetAwaiter().GetResult();
    }
}
