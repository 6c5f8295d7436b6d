namespace PgWarden.Core.Ha;

/// <summary>What the node's data directory holds.</summary>
public enum LocalDataState
{
    /// <summary>Missing or empty: the node has to be initialised or cloned.</summary>
    Empty,
    /// <summary>A data directory without standby.signal: it was a primary when it stopped.</summary>
    Primary,
    /// <summary>A data directory with standby.signal: a replica.</summary>
    Standby,
}
