using System.Collections.Immutable;

namespace PgWarden.Core.Config;

/// <summary>
/// A validated cluster configuration. Paths are absolute (relative paths in the file are resolved
/// against the directory of the configuration file, <see cref="BaseDir"/>).
/// </summary>
public sealed record ClusterConfig(
    string Name,
    string BaseDir,
    PostgresSettings Postgres,
    HardwareHints? Hardware,
    DatabaseSettings Database,
    ImmutableArray<NodeConfig> Nodes,
    ImmutableArray<PoolerConfig> Poolers,
    DcsSettings Dcs)
{
    public NodeConfig Node(string name) =>
        Nodes.FirstOrDefault(n => n.Name == name)
        ?? throw new Errors.PgWardenException(Errors.ExitCodes.NotFound,
            $"node '{name}' is not in cluster '{Name}' (nodes: {string.Join(", ", Nodes.Select(n => n.Name))})");

    public PoolerConfig Pooler(string name) =>
        Poolers.FirstOrDefault(p => p.Name == name)
        ?? throw new Errors.PgWardenException(Errors.ExitCodes.NotFound,
            $"pooler '{name}' is not in cluster '{Name}' (poolers: {string.Join(", ", Poolers.Select(p => p.Name))})");

    /// <summary>The node that runs initdb when the cluster is created: the first one listed.</summary>
    public NodeConfig BootstrapNode => Nodes[0];

    public string SecretsFile => Path.Combine(BaseDir, "secrets.yaml");

    public string AppConnectionFile => Path.Combine(BaseDir, "app-connection.env");

    /// <summary>The absolute path of the file this configuration was loaded from.</summary>
    public string ConfigFile { get; init; } = Path.Combine(BaseDir, "cluster.yaml");

    /// <summary>The backup repository and schedules; null when the cluster has no <c>backup:</c> section.</summary>
    public BackupSettings? Backup { get; init; }

    /// <summary>Certificates for PostgreSQL, PgBouncer and the agents' API; <see cref="TlsSettings.Off"/> only when the file says so.</summary>
    public TlsSettings Tls { get; init; } = TlsSettings.Off;

    /// <summary>Who may call the agents' REST API (client certificates, allowlist).</summary>
    public ApiAccessSettings Api { get; init; } = ApiAccessSettings.Open;
}

public sealed record PostgresSettings(
    int Version,
    string BinDir,
    string OsUser,
    int MaxConnections,
    ImmutableArray<KeyValuePair<string, string>> Parameters);

public sealed record HardwareHints(long RamBytes, int Cpus, Tuning.StorageKind Storage);

public sealed record DatabaseSettings(
    string Name,
    string AppUser,
    string ReplicationUser,
    string Superuser,
    string PoolerAdminUser,
    ImmutableArray<string> AppNetworks);

public sealed record NodeConfig(
    string Name,
    string Address,
    int Port,
    int ApiPort,
    string DataDir,
    int Priority,
    bool NoFailover = false)
{
    /// <summary>The node's working directory: sockets, passfile, logs, pid file.</summary>
    public string HomeDir(ClusterConfig cluster) => Path.Combine(cluster.BaseDir, "nodes", Name);

    public string SocketDir(ClusterConfig cluster) => Path.Combine(HomeDir(cluster), "run");

    public string SlotName => Name.Replace('-', '_').ToLowerInvariant() + "_slot";

    /// <summary>Whether the agent's API is served over HTTPS (the cluster's TLS is on).</summary>
    public bool ApiTls { get; init; }

    public string ApiUrl => $"{(ApiTls ? "https" : "http")}://{(Address.Contains(':') ? $"[{Address}]" : Address)}:{ApiPort}";
}

public sealed record PoolerConfig(
    string Name,
    string Address,
    int Port,
    ImmutableArray<KeyValuePair<string, string>> Settings)
{
    public string HomeDir(ClusterConfig cluster) => Path.Combine(cluster.BaseDir, "poolers", Name);

    /// <summary>PgBouncer's <c>unix_socket_dir</c> (also where its PID file lives).</summary>
    public string SocketDir(ClusterConfig cluster) => Path.Combine(HomeDir(cluster), "run");
}

/// <summary>
/// Where the leader lease lives. <see cref="Embedded"/>: `pgwarden up` runs a single-member etcd
/// itself (demo, tests); otherwise <see cref="Endpoints"/> name the user's own etcd cluster.
/// The Initial* values seed the cluster's dynamic configuration in the DCS the first time.
/// </summary>
public sealed record DcsSettings(
    ImmutableArray<string> Endpoints,
    bool Embedded,
    string? EmbeddedPeerUrl,
    Dcs.DcsConfig Initial)
{
    public string EmbeddedDataDir(ClusterConfig cluster) => Path.Combine(cluster.BaseDir, "etcd");

    /// <summary>
    /// <c>dcs.credentials_file</c>: a 0600 YAML file with <c>user:</c> and <c>password:</c> for the
    /// user's own etcd (absolute path), used instead of the etcd user in the secrets file; null if not set.
    /// </summary>
    public string? CredentialsFile { get; init; }

    /// <summary>TLS to etcd (https endpoints), or null for plain-text http endpoints.</summary>
    public DcsTlsSettings? Tls { get; init; }

    /// <summary>What a client on host <paramref name="host"/> (a node or pooler name; null: the CLI) needs to reach etcd, or null for http.</summary>
    public Dcs.DcsTls? ClientTls(string? host) =>
        Tls is not { } t ? null
        : t.CertFileTemplate is { } cert && t.KeyFileTemplate is { } key && (host is not null || !cert.Contains(TlsSettings.NamePlaceholder, StringComparison.Ordinal))
            ? new Dcs.DcsTls(t.CaFile, cert.Replace(TlsSettings.NamePlaceholder, host ?? ""), key.Replace(TlsSettings.NamePlaceholder, host ?? ""))
            : new Dcs.DcsTls(t.CaFile);
}

/// <summary>
/// <c>dcs.ca_file</c> (absolute; the cluster CA when not set) and the optional client certificate
/// templates <c>dcs.cert_file</c> / <c>dcs.key_file</c> (<c>{name}</c>: the host's name).
/// </summary>
public sealed record DcsTlsSettings(string CaFile, string? CertFileTemplate, string? KeyFileTemplate);
