namespace PgWarden.Agent.Ha;

/// <summary>
/// What the HA engine reports: decisions (one sentence each), failures, and the counters behind the
/// metrics. The agent logs them; tests record them.
/// </summary>
public class AgentEvents
{
    public virtual void Decided(string reason)
    {
    }

    public virtual void Failed(string message)
    {
    }

    /// <summary>Something worth a log line that is neither a decision nor a failure (a server started, the watchdog running).</summary>
    public virtual void Info(string message)
    {
    }

    public virtual void Promoted()
    {
    }

    public virtual void PostgresRestarted()
    {
    }
}
