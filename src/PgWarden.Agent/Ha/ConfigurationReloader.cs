using PgWarden.Core.Parameters;

namespace PgWarden.Agent.Ha;

/// <summary>
/// Keeps the running server's configuration in step with the cluster-wide parameters in the DCS
/// (`pgwarden config apply`) and carries out reload requests (`pgwarden reload`): re-renders
/// postgresql.conf for the role the server has and reloads it (Patroni reloads the same way when
/// the dynamic configuration changes). Parameters of context postmaster stay pending until a
/// restart; the loop publishes them (pg_settings.pending_restart) in the member key.
/// </summary>
public sealed class ConfigurationReloader(PostmasterSupervisor postmaster, NodeState state, AgentEvents events)
{
    /// <summary>How long a reload may take to show in pg_conf_load_time.</summary>
    public static readonly TimeSpan ReloadWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Called by the loop when no long action runs: reloads when the DCS parameters differ from those
    /// the running server was rendered with, or when a reload was requested.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var requested = state.TakeReloadRequest();
        var rendered = postmaster.RenderedParameters;
        var changed = rendered is not null && !DynamicParameters.SameAs(rendered, postmaster.Parameters);
        if (!changed && requested is null)
        {
            return;
        }
        if (postmaster.State != Core.Ha.PostmasterState.Running)
        {
            requested?.TrySetResult(ReloadOutcome.Failed("PostgreSQL is not running; it starts with the current configuration"));
            return;
        }
        try
        {
            var confirmed = await postmaster.ReloadConfigurationAsync(ReloadWait, ct);
            var pending = postmaster.Status?.PendingRestart ?? [];
            if (confirmed)
            {
                events.Decided(changed
                    ? $"cluster parameters changed: configuration rewritten and reloaded{(pending.Count > 0 ? $"; restart pending for {string.Join(", ", pending)}" : "")}"
                    : "configuration rewritten and reloaded on request");
            }
            requested?.TrySetResult(confirmed
                ? new ReloadOutcome(null, pending, postmaster.Status?.ConfigErrors ?? [])
                : ReloadOutcome.Failed($"PostgreSQL did not confirm the reload within {ReloadWait.TotalSeconds:0} s"));
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            events.Failed($"reloading the configuration failed: {e.Message}");
            requested?.TrySetResult(ReloadOutcome.Failed($"reloading failed: {e.Message}"));
        }
    }
}
