namespace PgWarden.Agent.Ha;

/// <summary>What an in-place restart of a crashed primary is for (see <see cref="PostmasterSupervisor.TryUsePrimaryRestart"/>).</summary>
public enum PrimaryRestart
{
    /// <summary>The first crash in the window: restart and keep leading.</summary>
    KeepLeading,

    /// <summary>A second crash in the window: restart so crash recovery keeps every flushed commit, then switch over to the best replica.</summary>
    ThenHandOver,

    /// <summary>A third crash in the window: the node is failed and releases the lease.</summary>
    Refused,
}
