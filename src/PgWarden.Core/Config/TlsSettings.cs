namespace PgWarden.Core.Config;

/// <summary>Where a cluster's certificates come from, or that it runs in plain text.</summary>
public enum TlsMode
{
    /// <summary>No <c>tls:</c> section (or <c>mode: generated</c>): `pgwarden up` creates a CA and one certificate per node and pooler under <c>&lt;cluster dir&gt;/tls</c>.</summary>
    Generated,

    /// <summary><c>ca_file</c>, <c>cert_file</c>, <c>key_file</c>: the user's own certificates (production).</summary>
    Files,

    /// <summary><c>tls: disabled</c> (or <c>mode: disabled</c>): plain text everywhere, only when written explicitly.</summary>
    Disabled,
}

/// <summary>PgBouncer's <c>client_tls_sslmode</c> for application clients (PgBouncer 1.18 docs, "TLS settings").</summary>
public enum PoolerClientTlsMode
{
    /// <summary>Clients must use TLS; no client certificate is asked for.</summary>
    Require,

    /// <summary>Clients must present a certificate signed by the cluster CA.</summary>
    VerifyCa,

    /// <summary>As <see cref="VerifyCa"/>, PgBouncer also matches the certificate to the client's host.</summary>
    VerifyFull,
}

/// <summary>
/// The <c>tls:</c> section: one CA for the cluster and one certificate per host (node or pooler),
/// named by the host's name. <c>{name}</c> in <see cref="CertFileTemplate"/> and
/// <see cref="KeyFileTemplate"/> stands for the node's or pooler's name, so one cluster file serves
/// every host. Paths are absolute.
/// </summary>
public sealed record TlsSettings(TlsMode Mode, string CaFile, string CertFileTemplate, string KeyFileTemplate)
{
    /// <summary>The placeholder for the host's name in cert_file / key_file.</summary>
    public const string NamePlaceholder = "{name}";

    /// <summary>The directory generated certificates go to, under the cluster directory.</summary>
    public const string GeneratedDirName = "tls";

    /// <summary>Plain text (what a configuration built in code without a tls section gets).</summary>
    public static TlsSettings Off { get; } = new(TlsMode.Disabled, "", "", "");

    /// <summary>The generated layout: &lt;dir&gt;/ca.crt, &lt;dir&gt;/&lt;name&gt;.crt and .key, the CLI's admin.crt and .key.</summary>
    public static TlsSettings GeneratedUnder(string baseDir)
    {
        var dir = Path.Combine(baseDir, GeneratedDirName);
        return new TlsSettings(TlsMode.Generated, Path.Combine(dir, "ca.crt"),
            Path.Combine(dir, NamePlaceholder + ".crt"), Path.Combine(dir, NamePlaceholder + ".key"))
        {
            AdminCertFile = Path.Combine(dir, "admin.crt"),
            AdminKeyFile = Path.Combine(dir, "admin.key"),
            CaKeyFile = Path.Combine(dir, "ca.key"),
        };
    }

    public bool Enabled => Mode != TlsMode.Disabled;

    /// <summary>The CA's private key (generated mode only; read by `pgwarden up`, never by a server).</summary>
    public string? CaKeyFile { get; init; }

    /// <summary>The client certificate the CLI presents when the API requires one (null: none configured).</summary>
    public string? AdminCertFile { get; init; }

    public string? AdminKeyFile { get; init; }

    /// <summary>PgBouncer's client_tls_sslmode (default require).</summary>
    public PoolerClientTlsMode PoolerClientMode { get; init; } = PoolerClientTlsMode.Require;

    /// <summary>The certificate file of host <paramref name="name"/> (a node or a pooler).</summary>
    public string CertFile(string name) => CertFileTemplate.Replace(NamePlaceholder, name, StringComparison.Ordinal);

    /// <summary>The private key file of host <paramref name="name"/>.</summary>
    public string KeyFile(string name) => KeyFileTemplate.Replace(NamePlaceholder, name, StringComparison.Ordinal);

    /// <summary>libpq connection options that make a client verify the server against the cluster CA (or refuse TLS when disabled).</summary>
    public string LibpqOptions(Func<string, string> quote) => Enabled
        ? $"sslmode=verify-full sslrootcert={quote(CaFile)}"
        : "sslmode=disable";
}

/// <summary>
/// The <c>api:</c> section: who may talk to the agents' REST API. <see cref="Allowlist"/> empty: any
/// address; otherwise only those networks (plus the cluster's own nodes, which call each other).
/// </summary>
public sealed record ApiAccessSettings(bool RequireClientCert, System.Collections.Immutable.ImmutableArray<string> Allowlist)
{
    public static ApiAccessSettings Open { get; } = new(false, []);
}
