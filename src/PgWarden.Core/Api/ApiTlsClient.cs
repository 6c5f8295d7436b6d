using System.Security.Cryptography.X509Certificates;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Api;

/// <summary>The HTTP handler every caller of an agent's API uses: the cluster CA as the only trust, and a client certificate when the API asks for one.</summary>
public static class ApiTlsClient
{
    /// <param name="identity">null: the CLI's admin certificate; otherwise the name of the node whose certificate to present.</param>
    /// <exception cref="ConfigException">TLS is on and the CA, or a required client certificate, cannot be read.</exception>
    public static SocketsHttpHandler Handler(TimeSpan timeout, ClusterConfig cluster, string? identity)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            UseProxy = false,
        };
        var tls = cluster.Tls;
        if (!tls.Enabled)
        {
            return handler;
        }
        // Validation is .NET's own (chain, validity, host name against the IP or DNS SANs) with the
        // cluster CA as the only root: never "accept any certificate".
        if (tls.Mode == TlsMode.Generated && !File.Exists(tls.CaFile))
        {
            // `up` generates the CA with the cluster: none yet means the cluster was never started here.
            throw new Errors.PgWardenException(Errors.ExitCodes.NotRunning,
                $"cluster {cluster.Name} is not running: it has no CA yet ({tls.CaFile}; `pgwarden up` creates it)");
        }
        handler.SslOptions.CertificateChainPolicy = CaTrust.Load(tls.CaFile).Policy(CertificateFactory.ServerAuth);
        if (cluster.Api.RequireClientCert && ClientCertificate(cluster, identity) is { } mine)
        {
            handler.SslOptions.ClientCertificates = [mine];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => mine;
        }
        return handler;
    }

    private static X509Certificate2? ClientCertificate(ClusterConfig cluster, string? identity)
    {
        var tls = cluster.Tls;
        var (cert, key) = identity is null ? (tls.AdminCertFile, tls.AdminKeyFile) : (tls.CertFile(identity), tls.KeyFile(identity));
        if (cert is null || key is null)
        {
            return null;
        }
        try
        {
            return PemFiles.ReadWithKey(cert, key);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new ConfigException($"the agents' API requires a client certificate, but {cert} / {key} cannot be read ({e.Message}); run as a user who can read them, or set admin_cert_file / admin_key_file in tls:");
        }
    }
}
