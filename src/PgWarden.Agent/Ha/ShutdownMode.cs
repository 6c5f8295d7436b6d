namespace PgWarden.Agent.Ha;

/// <summary>PostgreSQL's shutdown modes (docs: "Shutting Down the Server").</summary>
public enum ShutdownMode
{
    /// <summary>SIGTERM: wait for every client to disconnect.</summary>
    Smart,

    /// <summary>SIGINT: roll back open transactions, write a shutdown checkpoint (replicas receive it), exit.</summary>
    Fast,

    /// <summary>SIGQUIT: exit at once without a checkpoint; the next start runs crash recovery.</summary>
    Immediate,
}
