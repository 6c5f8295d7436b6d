using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PgWarden.Core.Tls;

/// <summary>
/// Creates the cluster's CA and the certificates it signs, with .NET's <see cref="CertificateRequest"/>:
/// ECDSA P-256 keys, SHA-256 signatures, random 128-bit serial numbers. Host certificates name the
/// host in their subject alternative names (an IP SAN for an address, a DNS SAN for a name), which is
/// what libpq's <c>sslmode=verify-full</c>, PgBouncer and .NET check (RFC 6125; PostgreSQL docs
/// "SSL Support", 34.19.1, on IP SANs since PostgreSQL 14).
/// </summary>
public static class CertificateFactory
{
    /// <summary>OID of the TLS web server authentication extended key usage.</summary>
    public static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    /// <summary>OID of the TLS web client authentication extended key usage.</summary>
    public static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>A self-signed CA (path length 0: it signs host and client certificates only).</summary>
    /// <param name="validity">How long it is valid from <paramref name="now"/> (minus 1 h for clock skew).</param>
    public static X509Certificate2 CreateAuthority(string commonName, DateTimeOffset now, TimeSpan validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Subject(commonName), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddHours(-1), now + validity);
    }

    /// <summary>
    /// The extended key usages a certificate of <paramref name="role"/> carries: serverAuth for every
    /// server, clientAuth only for a holder that authenticates as a client (RFC 5280 4.2.1.12; OpenSSL,
    /// Go's crypto/x509 and .NET refuse a certificate whose EKU lacks the usage they check).
    /// </summary>
    public static Oid[] UsagesOf(HostCertificateRole role) => role switch
    {
        HostCertificateRole.Pooler => [ServerAuth],
        HostCertificateRole.Client => [ClientAuth],
        _ => [ServerAuth, ClientAuth],
    };

    /// <summary>
    /// A certificate for host <paramref name="name"/> with the usages of <paramref name="role"/>
    /// (<see cref="UsagesOf"/>; default: a node's, server and client), naming <paramref name="name"/>
    /// and every address in <paramref name="addresses"/> as subject alternative names.
    /// </summary>
    /// <exception cref="ArgumentException">the CA has no private key.</exception>
    public static X509Certificate2 IssueHost(X509Certificate2 ca, string name, IEnumerable<string> addresses, DateTimeOffset now, TimeSpan validity, HostCertificateRole role = HostCertificateRole.Node)
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        foreach (var address in addresses.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(address, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else if (!string.Equals(address, name, StringComparison.OrdinalIgnoreCase))
            {
                san.AddDnsName(address);
            }
        }
        return Issue(ca, name, san.Build(), UsagesOf(role), now, validity);
    }

    /// <summary>A client-only certificate (the CLI's admin certificate for an API that requires one; a pooler's etcd client certificate).</summary>
    public static X509Certificate2 IssueClient(X509Certificate2 ca, string name, DateTimeOffset now, TimeSpan validity) =>
        Issue(ca, name, null, UsagesOf(HostCertificateRole.Client), now, validity);

    /// <summary>The extended key usages <paramref name="certificate"/> names (empty: it has no EKU extension).</summary>
    public static IReadOnlySet<string> Usages(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>()
            .SelectMany(e => e.EnhancedKeyUsages.Cast<Oid>()).Select(o => o.Value!).ToHashSet();

    private static X509Certificate2 Issue(X509Certificate2 ca, string name, X509Extension? san, Oid[] usages, DateTimeOffset now, TimeSpan validity)
    {
        using var caKey = ca.GetECDsaPrivateKey() ?? throw new ArgumentException("the CA certificate has no private key", nameof(ca));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Subject(name), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }
        var notAfter = now + validity;
        if (notAfter > ca.NotAfter)
        {
            notAfter = ca.NotAfter;
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddHours(-1), notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    private static X500DistinguishedName Subject(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName("PgWarden");
        builder.AddCommonName(commonName);
        return builder.Build();
    }
}
