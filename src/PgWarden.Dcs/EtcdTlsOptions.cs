using System.Net.Security;
using System.Security.Cryptography;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Tls;

namespace PgWarden.Dcs;

/// <summary>
/// The TLS side of an etcd client connection: etcd's certificate must chain to the configured CA
/// (the system's roots play no part) and name the endpoint's host; .NET's own validation does the
/// checking, never an "accept anything" callback.
/// </summary>
internal static class EtcdTlsOptions
{
    /// <exception cref="ConfigException">the CA or the client certificate / key cannot be read.</exception>
    public static SslClientAuthenticationOptions Load(DcsTls tls)
    {
        var options = new SslClientAuthenticationOptions
        {
            CertificateChainPolicy = CaTrust.Load(tls.CaFile).Policy(CertificateFactory.ServerAuth),
        };
        if (tls.CertFile is { } cert && tls.KeyFile is { } key)
        {
            try
            {
                var mine = PemFiles.ReadWithKey(cert, key);
                if (CertificateFactory.Usages(mine) is { Count: > 0 } usages && !usages.Contains(CertificateFactory.ClientAuth.Value!))
                {
                    // etcd (Go's crypto/x509) refuses it in the handshake with only "bad certificate": say why here.
                    throw new ConfigException($"the etcd client certificate {cert} has no clientAuth extended key usage (it is a server certificate only), so etcd refuses it: use a client certificate of the CA (dcs.cert_file / key_file; docs/tls.md)");
                }
                options.ClientCertificates = [mine];
                options.LocalCertificateSelectionCallback = (_, _, _, _, _) => mine;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                throw new ConfigException($"cannot read the etcd client certificate {cert} / {key}: {e.Message}");
            }
        }
        return options;
    }

    /// <summary>A copy per handler (SocketsHttpHandler takes ownership of its options).</summary>
    public static SslClientAuthenticationOptions Copy(SslClientAuthenticationOptions o) => new()
    {
        CertificateChainPolicy = o.CertificateChainPolicy,
        ClientCertificates = o.ClientCertificates,
        LocalCertificateSelectionCallback = o.LocalCertificateSelectionCallback,
    };
}
