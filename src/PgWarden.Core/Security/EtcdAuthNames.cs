namespace PgWarden.Core.Security;

/// <summary>
/// The etcd users and roles PgWarden creates for a cluster (etcd v3 role-based access control:
/// https://etcd.io/docs/v3.4/op-guide/authentication/). The read-write role may touch only the
/// cluster's key prefix <c>/pgwarden/&lt;cluster&gt;/</c>; the read-only role, held by the poolers'
/// user, may only read it.
/// </summary>
public static class EtcdAuthNames
{
    /// <summary>etcd's administrator: it must exist, with the role <c>root</c>, before auth can be enabled.</summary>
    public const string RootUser = "root";

    public const string RootRole = "root";

    /// <summary>The role with readwrite permission on the cluster's prefix.</summary>
    public static string ReadWriteRole(string cluster) => $"pgwarden-{cluster}";

    /// <summary>The role with read permission on the cluster's prefix.</summary>
    public static string ReadOnlyRole(string cluster) => $"pgwarden-{cluster}-ro";

    /// <summary>The user of the agents, the watchdogs and the CLI (holds <see cref="ReadWriteRole"/>).</summary>
    public static string AgentUser(string cluster) => $"pgwarden-{cluster}";

    /// <summary>The user of the poolers, which only read the DCS (holds <see cref="ReadOnlyRole"/>).</summary>
    public static string PoolerUser(string cluster) => $"pgwarden-{cluster}-pooler";

    /// <summary>The cluster's key prefix in etcd, as <c>EtcdKeys</c> lays it out.</summary>
    public static string Prefix(string cluster) => $"/pgwarden/{cluster}/";
}
