namespace PgWarden.Core.Dcs;

/// <summary>What a manual leadership change asks for (Patroni's terms).</summary>
public enum FailoverKind
{
    /// <summary>Planned: the healthy leader hands over to a caught-up replica after a clean stop.</summary>
    Switchover,

    /// <summary>Manual failover: there is no healthy leader and the operator names the node to take over.</summary>
    Failover,
}
