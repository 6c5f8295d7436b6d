namespace PgWarden.Core.Tls;

/// <summary>
/// What a generated certificate is for, which decides its extended key usages
/// (<see cref="CertificateFactory.UsagesOf"/>): a certificate gets clientAuth only where its holder
/// really authenticates as a client, so a server certificate cannot open a client's door.
/// </summary>
public enum HostCertificateRole
{
    /// <summary>A database node: serves PostgreSQL and the API (serverAuth); its agent presents it to the other agents' APIs, to etcd with client-certificate auth, and as the peer certificate of an etcd member on its host (clientAuth).</summary>
    Node,

    /// <summary>A member of your own etcd on a host of its own (etcd1 …): serves clients and peers (serverAuth) and presents it to its peers (clientAuth).</summary>
    EtcdMember,

    /// <summary>A PgBouncer: serves the applications (serverAuth only); it never presents this certificate as a client.</summary>
    Pooler,

    /// <summary>A client only (the CLI's admin certificate, a pooler's etcd client certificate): clientAuth only, never a server.</summary>
    Client,
}
