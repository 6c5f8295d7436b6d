using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PgWarden.Core.Tls;

/// <summary>
/// Trust in exactly one CA, the cluster's: a certificate is valid only when it chains to it (the
/// system's root store plays no part), is within its validity period and carries the wanted
/// extended key usage. Revocation is not checked (the generated CA publishes no CRL).
/// </summary>
public sealed class CaTrust(X509Certificate2 authority)
{
    public X509Certificate2 Authority => authority;

    /// <summary>Loads the CA certificate from a PEM file.</summary>
    /// <exception cref="Errors.ConfigException">the file is missing or not a PEM certificate.</exception>
    public static CaTrust Load(string caFile)
    {
        try
        {
            return new CaTrust(PemFiles.ReadCertificate(caFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new Errors.ConfigException($"cannot read the cluster CA certificate {caFile}: {e.Message}");
        }
    }

    /// <summary>A chain policy that trusts only this CA and requires <paramref name="usage"/> (e.g. <see cref="CertificateFactory.ServerAuth"/>).</summary>
    public X509ChainPolicy Policy(Oid usage)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            VerificationTimeIgnored = false,
        };
        policy.CustomTrustStore.Add(authority);
        policy.ApplicationPolicy.Add(usage);
        return policy;
    }

    /// <summary>Whether <paramref name="certificate"/> chains to this CA, is valid now and allows <paramref name="usage"/>.</summary>
    public bool Verifies(X509Certificate2 certificate, Oid usage)
    {
        using var chain = new X509Chain { ChainPolicy = Policy(usage) };
        return chain.Build(certificate);
    }

    /// <summary>
    /// Whether <paramref name="certificate"/> may authenticate as a client: it chains to this CA, is
    /// valid now and its extended key usage extension names clientAuth. A certificate without that
    /// extension (valid for any purpose under RFC 5280 4.2.1.12, and accepted by .NET's chain policy)
    /// is refused too, so only a certificate issued for clients passes — never a pooler's.
    /// </summary>
    public bool VerifiesClient(X509Certificate2 certificate) =>
        CertificateFactory.Usages(certificate).Contains(CertificateFactory.ClientAuth.Value!)
        && Verifies(certificate, CertificateFactory.ClientAuth);
}
