namespace PgWarden.Core.Security;

/// <summary>The keys of a secrets file (docs/secrets.md lists which host role gets which).</summary>
public static class SecretKeys
{
    public const string Superuser = "superuser_password";
    public const string Replication = "replication_password";
    public const string App = "app_password";

    /// <summary>The app user's SCRAM-SHA-256 verifier (a pooler file holds it instead of the password).</summary>
    public const string AppScram = "app_scram_secret";
    public const string PoolerAdmin = "pooler_admin_password";
    public const string ApiToken = "api_token";
    public const string EtcdRoot = "etcd_root_password";
    public const string EtcdAgent = "etcd_agent_password";
    public const string EtcdPooler = "etcd_pooler_password";

    /// <summary>The etcd user of a role file's host (with <see cref="EtcdPassword"/>).</summary>
    public const string EtcdUser = "etcd_user";
    public const string EtcdPassword = "etcd_password";

    /// <summary>Every key, in the order files are written.</summary>
    public static readonly IReadOnlyList<string> All =
        [Superuser, Replication, App, AppScram, PoolerAdmin, ApiToken, EtcdRoot, EtcdAgent, EtcdPooler, EtcdUser, EtcdPassword];

    /// <summary>The keys every full file has had since the first release (the etcd ones came later).</summary>
    public static readonly IReadOnlyList<string> FullRequired = [Superuser, Replication, App, PoolerAdmin, ApiToken];
}
