namespace PgWarden.Monitoring.Actions;

public enum SessionKind
{
    /// <summary>state = 'idle' and now() - state_change over the threshold.</summary>
    Idle,

    /// <summary>state = 'active' and now() - query_start over the threshold.</summary>
    LongRunning,
}
