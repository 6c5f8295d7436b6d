using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tls;

/// <summary>
/// The certificate an etcd member serves over https (`install --role etcd`: <c>tls.cert_file</c> with
/// <c>{name}</c> = the member's name; the embedded etcd: the first node's) must be one the clients and
/// the peers accept, or etcd starts and nobody can talk to it: it must chain to the CA the clients verify
/// etcd with (<c>dcs.ca_file</c>, default <c>tls.ca_file</c>; also the peers' trusted CA), be valid, and
/// — when it has an extended key usage extension — allow serverAuth (it serves clients and peers) and,
/// but for the single-member embedded etcd, clientAuth (it presents it to its peers, which require a client certificate: etcd 3.4 "Transport
/// security model"; Go's crypto/x509 refuses a peer certificate whose EKU lacks clientAuth, and, like
/// RFC 5280, accepts one without the extension).
/// </summary>
public static class EtcdMemberCertificate
{
    /// <summary>
    /// Checks member <paramref name="member"/>'s certificate when etcd is reached over https. Returns null
    /// when it is fine or there is nothing to check (http, TLS off); a note when its file or the CA cannot
    /// be read here and <paramref name="requireFiles"/> is false (units generated on another machine).
    /// </summary>
    /// <exception cref="ConfigException">the certificate does not chain to the clients' CA, has expired, lacks
    /// a usage etcd needs, or (with <paramref name="requireFiles"/>) cannot be read — one line naming the file and the fix.</exception>
    public static string? Check(ClusterConfig cluster, string member, bool requireFiles)
    {
        if (cluster.Dcs.Tls is not { } dcsTls || !cluster.Tls.Enabled)
        {
            return null;
        }
        var certFile = cluster.Tls.CertFile(member);
        X509Certificate2 certificate;
        CaTrust trust;
        try
        {
            certificate = PemFiles.ReadCertificate(certFile);
            trust = CaTrust.Load(dcsTls.CaFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or ConfigException)
        {
            var what = $"etcd member {member}'s certificate {certFile} or the CA its clients trust ({dcsTls.CaFile}) cannot be read ({e.Message})";
            return requireFiles
                ? throw new ConfigException($"{what}: the member serves that certificate; install both first (docs/production.md, \"etcd over TLS\")")
                : $"note: {what}, so whether the clients will trust the member was not checked here";
        }
        using (certificate)
        {
            // The embedded etcd is a single member: no peer ever presents itself, so serverAuth is enough there.
            var problem = Problem(certificate, trust, peers: !cluster.Dcs.Embedded) ?? NameProblem(certificate, MemberHost(cluster, member));
            if (problem is not null)
            {
                throw new ConfigException($"etcd member {member}'s certificate {certFile} {problem}");
            }
        }
        return null;
    }

    /// <summary>The host the member's clients and peers reach it at (dcs.endpoints; the embedded etcd: its one endpoint), null when unknown.</summary>
    private static string? MemberHost(ClusterConfig cluster, string member)
    {
        var url = cluster.Dcs.Embedded
            ? cluster.Dcs.Endpoints.FirstOrDefault() is { } first && Uri.TryCreate(first, UriKind.Absolute, out var u) ? u : null
            : Install.EtcdMember.All(cluster).FirstOrDefault(m => m.Name == member)?.ClientUrl;
        return url?.Host.Trim('[', ']');
    }

    /// <summary>
    /// The member's clients (and peers) verify its certificate against the address they dial (Go's crypto/tls,
    /// like libpq's verify-full): one that does not name it in a subject alternative name is refused at run time.
    /// </summary>
    private static string? NameProblem(X509Certificate2 certificate, string? host)
    {
        if (host is null)
        {
            return null;
        }
        var names = ClusterCertificates.Names(certificate);
        var wanted = ClusterCertificates.Canonical(host);
        var dot = wanted.IndexOf('.');
        var covered = names.Contains(wanted)
            || (!System.Net.IPAddress.TryParse(wanted, out _) && dot > 0 && names.Contains("*" + wanted[dot..]));
        return covered ? null
            : $"does not name {wanted} (the address dcs.endpoints gives the member) in its subject alternative names (it names {(names.Count == 0 ? "none" : string.Join(", ", names.Order()))}): "
              + "etcd's clients and peers verify that name and would refuse the member; issue it for that address";
    }

    private static string? Problem(X509Certificate2 certificate, CaTrust trust, bool peers)
    {
        // The chain alone first (the usages are checked below, as etcd's Go TLS checks them).
        using var chain = new X509Chain
        {
            ChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck },
        };
        chain.ChainPolicy.CustomTrustStore.Add(trust.Authority);
        if (!chain.Build(certificate))
        {
            var status = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
            if ((status & (X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.NotSignatureValid)) != 0)
            {
                return $"is not signed by the CA etcd's clients and peers trust (dcs.ca_file, default tls.ca_file: {trust.Authority.Subject}); " +
                    "clients would refuse the member: issue its certificate from that CA, or set dcs.ca_file to the CA that signed it";
            }
            if ((status & X509ChainStatusFlags.NotTimeValid) != 0)
            {
                return $"is not valid now (valid {certificate.NotBefore:u} to {certificate.NotAfter:u}): issue it again";
            }
            return $"does not verify against the CA of dcs.ca_file ({string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()))})";
        }
        var usages = CertificateFactory.Usages(certificate);
        var missing = new[] { (CertificateFactory.ServerAuth, "serverAuth (it serves the clients and peers)"), (CertificateFactory.ClientAuth, "clientAuth (it presents it to its peers, which require a client certificate)") }
            .Where(u => usages.Count > 0 && !usages.Contains(u.Item1.Value!) && (peers || u.Item1.Value == CertificateFactory.ServerAuth.Value))
            .Select(u => u.Item2).ToList();
        return missing.Count == 0 ? null
            : $"has no {string.Join(" and no ", missing)} in its extended key usage: etcd would refuse it at run time; issue it with serverAuth and clientAuth";
    }
}
