namespace PgWarden.Core.Security;

/// <summary>Which host a secrets file is for; each role's file holds only what that host needs (docs/secrets.md).</summary>
public enum SecretsRole
{
    /// <summary>Every secret of the cluster: the file `pgwarden up` generates, kept on the admin host.</summary>
    Full,

    /// <summary>A database host: PostgreSQL passwords, its own API token, the etcd read-write user.</summary>
    Node,

    /// <summary>A PgBouncer host: the app user's SCRAM verifier, the pooler admin password, the etcd read-only user.</summary>
    Pooler,

    /// <summary>An etcd host: the passwords of etcd's root and of the two PgWarden users, to set up authentication.</summary>
    Etcd,
}
