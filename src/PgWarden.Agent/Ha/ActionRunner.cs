namespace PgWarden.Agent.Ha;

/// <summary>
/// Runs one long action (clone, pg_rewind, start-up, promotion, hand-over …) at a time beside the HA
/// loop, so that the loop keeps observing, renewing the lease and publishing while it runs. A failed
/// action is reported when the loop collects it; the next cycle decides again.
/// </summary>
/// <param name="failed">Reports an action that threw.</param>
/// <param name="finished">Called when an action succeeds (the loop acts on the result at once instead of after loop_wait); a failed one is retried no sooner than the next loop, never in a hot loop.</param>
public sealed class ActionRunner(Action<string, Exception> failed, Action? finished = null)
{
    private Task? _task;
    private string? _name;

    /// <summary>What runs now (null: nothing).</summary>
    public string? Current => _task is { IsCompleted: false } ? _name : null;

    /// <summary>Starts <paramref name="action"/> unless another one runs; true if it started.</summary>
    public bool TryStart(string name, Func<CancellationToken, Task> action, CancellationToken ct)
    {
        Collect();
        if (_task is not null)
        {
            return false;
        }
        _name = name;
        _task = Task.Run(async () =>
        {
            await action(ct);
            finished?.Invoke();
        }, CancellationToken.None);
        return true;
    }

    /// <summary>Reports a finished action's failure and forgets it.</summary>
    public void Collect()
    {
        if (_task is not { IsCompleted: true } task)
        {
            return;
        }
        _task = null;
        if (task.Exception?.GetBaseException() is { } error && error is not OperationCanceledException)
        {
            failed(_name!, error);
        }
    }

    /// <summary>Completes when no action runs (for shutdown and tests).</summary>
    public async Task WhenIdleAsync()
    {
        if (_task is { } task)
        {
            try
            {
                await task;
            }
            catch (Exception)
            {
                // Reported by Collect.
            }
        }
        Collect();
    }
}
