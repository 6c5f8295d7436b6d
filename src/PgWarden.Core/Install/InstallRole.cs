namespace PgWarden.Core.Install;

/// <summary>What a host runs, for `pgwarden install --role`: a database node's agent, a PgBouncer's pooler, or an etcd member.</summary>
public enum InstallRole
{
    Node,
    Pooler,
    Etcd,
}
