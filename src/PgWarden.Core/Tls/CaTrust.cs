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

    /// <summary>
    /// Subject common names that are never accepted as clients (<see cref="VerifiesClient"/>) although they
    /// chain to the CA with clientAuth: what a PgBouncer or an etcd member on a host of its own holds.
    /// </summary>
    public IReadOnlySet<string> NotClients { get; init; } = new HashSet<string>();

    /// <summary>
    /// The agents' API trust (<c>api.require_client_cert</c>): the cluster CA, refusing the certificates a
    /// PgBouncer host holds (its etcd client pair, issued to the pooler's name) and those of etcd members on
    /// hosts of their own (etcdN, serverAuth + clientAuth for their peers) — issued by the same CA with
    /// clientAuth, they would otherwise open the API to hosts that must not call it (docs/tls.md).
    /// </summary>
    /// <exception cref="Errors.ConfigException">the CA file cannot be read.</exception>
    public static CaTrust ForApi(Config.ClusterConfig cluster)
    {
        var nodes = cluster.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var refused = cluster.Poolers.Select(p => p.Name)
            .Append(Security.EtcdAuthNames.PoolerUser(cluster.Name))
            .Concat(cluster.Dcs.Embedded ? [] : Install.EtcdMember.All(cluster).Select(m => m.Name))
            .Where(n => !nodes.Contains(n))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        return new CaTrust(Load(cluster.Tls.CaFile).Authority) { NotClients = refused };
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
    /// is refused too, so only a certificate issued for clients passes — never a pooler's — and none whose
    /// subject common name is in <see cref="NotClients"/>.
    /// </summary>
    public bool VerifiesClient(X509Certificate2 certificate) =>
        CertificateFactory.Usages(certificate).Contains(CertificateFactory.ClientAuth.Value!)
        && !NotClients.Contains(certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false))
        && Verifies(certificate, CertificateFactory.ClientAuth);
}
