using System.Net;
using System.Security.Cryptography.X509Certificates;
using PgWarden.Core.Config;

namespace PgWarden.Core.Tls;

/// <summary>
/// The generated certificates of a cluster (<c>tls:</c> absent or <c>mode: generated</c>): a CA,
/// one certificate per node and per pooler (subject alternative names: its name and its address),
/// and the CLI's admin client certificate, under <c>&lt;cluster dir&gt;/tls</c>. Host keys are 0600
/// and owned by the server OS user (PostgreSQL and PgBouncer read them); the CA and admin keys are
/// 0600 and stay with whoever runs `pgwarden up`.
/// </summary>
public static class ClusterCertificates
{
    /// <summary>How long the generated CA is valid.</summary>
    public static readonly TimeSpan AuthorityValidity = TimeSpan.FromDays(3650);

    /// <summary>How long a generated host or admin certificate is valid.</summary>
    public static readonly TimeSpan HostValidity = TimeSpan.FromDays(730);

    /// <summary>A generated certificate expiring within this is issued again by `up`.</summary>
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    /// <summary>
    /// Every host of the cluster with the addresses its certificate must name and what it is for:
    /// nodes, poolers, and the members of your own etcd on hosts of their own (etcd1 …) when its
    /// endpoints are https — `install --role etcd` serves them <c>tls/etcd1.crt</c>.
    /// </summary>
    public static IReadOnlyList<(string Name, string Address, HostCertificateRole Role)> Hosts(ClusterConfig cluster)
    {
        List<(string Name, string Address, HostCertificateRole Role)> hosts =
        [
            .. cluster.Nodes.Select(n => (n.Name, n.Address, HostCertificateRole.Node)),
            .. cluster.Poolers.Select(p => (p.Name, p.Address, HostCertificateRole.Pooler)),
        ];
        if (cluster.Dcs is { Embedded: false, Tls: not null })
        {
            hosts.AddRange(Install.EtcdMember.All(cluster)
                .Where(m => hosts.All(h => h.Name != m.Name))
                .Select(m => (m.Name, m.ClientUrl.Host.Trim('[', ']'), HostCertificateRole.EtcdMember)));
        }
        return hosts;
    }

    /// <summary>
    /// The etcd client certificates to generate (your own etcd with <c>dcs.cert_file</c>): one per node
    /// and pooler whose <c>dcs.cert_file</c> is not its own host certificate (a pooler's never is: the
    /// configuration refuses that, since a pooler's host certificate has no clientAuth), client-only.
    /// </summary>
    public static IReadOnlyList<(string Name, string CertFile, string KeyFile)> EtcdClients(ClusterConfig cluster)
    {
        var clients = new List<(string Name, string CertFile, string KeyFile)>();
        // A dcs.cert_file that names a file `up` already writes (a host's certificate, the CA's, the admin's) is used as it is.
        var taken = Hosts(cluster).SelectMany(h => new[] { cluster.Tls.CertFile(h.Name), cluster.Tls.KeyFile(h.Name) })
            .Concat(new[] { cluster.Tls.CaFile, cluster.Tls.CaKeyFile, cluster.Tls.AdminCertFile, cluster.Tls.AdminKeyFile }.OfType<string>())
            .ToHashSet();
        foreach (var name in cluster.Nodes.Select(n => n.Name).Concat(cluster.Poolers.Select(p => p.Name)))
        {
            if (cluster.Dcs.ClientTls(name) is { CertFile: { } cert, KeyFile: { } key } && !taken.Contains(cert) && !taken.Contains(key)
                && clients.All(c => c.CertFile != cert))
            {
                clients.Add((name, cert, key));
            }
        }
        return clients;
    }

    /// <summary>
    /// Creates what is missing in generated mode: the CA (once), then each host's certificate that is
    /// missing, expiring within <see cref="RenewBefore"/>, not signed by the CA, not naming the
    /// host's current address or not carrying exactly its role's extended key usages (a pooler
    /// certificate of an older PgWarden, with clientAuth, is issued again without it), then the
    /// etcd client certificates (<see cref="EtcdClients"/>) and the admin client certificate.
    /// Returns one line per file written.
    /// Does nothing for <see cref="TlsMode.Files"/> or <see cref="TlsMode.Disabled"/>.
    /// </summary>
    /// <param name="serverOwner">uid/gid the host keys are given to (the server OS user), when running as root.</param>
    public static IReadOnlyList<string> EnsureGenerated(ClusterConfig cluster, (uint Uid, uint Gid)? serverOwner, DateTimeOffset now)
    {
        var tls = cluster.Tls;
        var written = new List<string>();
        if (tls.Mode != TlsMode.Generated)
        {
            return written;
        }
        var dir = Path.GetDirectoryName(tls.CaFile)!;
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        X509Certificate2 ca;
        var caKeyFile = tls.CaKeyFile!;
        if (File.Exists(tls.CaFile) && File.Exists(caKeyFile))
        {
            ca = PemFiles.ReadWithKey(tls.CaFile, caKeyFile);
        }
        else
        {
            ca = CertificateFactory.CreateAuthority($"PgWarden CA of cluster {cluster.Name}", now, AuthorityValidity);
            PemFiles.WritePrivateKey(caKeyFile, ca, null);
            PemFiles.WriteCertificate(tls.CaFile, ca);
            written.Add($"CA {tls.CaFile} (key {caKeyFile}, 0600)");
        }
        using (ca)
        {
            var trust = new CaTrust(ca);
            foreach (var (name, address, role) in Hosts(cluster))
            {
                var certFile = tls.CertFile(name);
                var keyFile = tls.KeyFile(name);
                if (IsCurrent(certFile, keyFile, trust, role, [name, Canonical(address)], now))
                {
                    continue;
                }
                using var host = CertificateFactory.IssueHost(ca, name, [address], now, HostValidity, role);
                PemFiles.WritePrivateKey(keyFile, host, serverOwner);
                PemFiles.WriteCertificate(certFile, host);
                written.Add($"{name} {certFile} (key {keyFile}, 0600)");
            }
            foreach (var (name, certFile, keyFile) in EtcdClients(cluster))
            {
                if (IsCurrent(certFile, keyFile, trust, HostCertificateRole.Client, [], now))
                {
                    continue;
                }
                Directory.CreateDirectory(Path.GetDirectoryName(certFile)!);
                using var client = CertificateFactory.IssueClient(ca, name, now, HostValidity);
                PemFiles.WritePrivateKey(keyFile, client, serverOwner);
                PemFiles.WriteCertificate(certFile, client);
                written.Add($"etcd client {name} {certFile} (key {keyFile}, 0600)");
            }
            if (tls.AdminCertFile is { } adminCert && tls.AdminKeyFile is { } adminKey
                && !IsCurrent(adminCert, adminKey, trust, HostCertificateRole.Client, [], now))
            {
                using var admin = CertificateFactory.IssueClient(ca, "pgwarden-admin", now, HostValidity);
                PemFiles.WritePrivateKey(adminKey, admin, null);
                PemFiles.WriteCertificate(adminCert, admin);
                written.Add($"admin client {adminCert} (key {adminKey}, 0600)");
            }
        }
        return written;
    }

    private static bool IsCurrent(string certFile, string keyFile, CaTrust trust, HostCertificateRole role, string[] names, DateTimeOffset now)
    {
        if (!File.Exists(keyFile) || !File.Exists(certFile))
        {
            return false;
        }
        using var cert = PemFiles.ReadCertificate(certFile);
        var usages = CertificateFactory.UsagesOf(role);
        var held = Names(cert);
        return cert.NotAfter > (now + RenewBefore).UtcDateTime
            && trust.Verifies(cert, usages[0])
            && CertificateFactory.Usages(cert).SetEquals(usages.Select(u => u.Value!))
            && names.All(held.Contains);
    }

    /// <summary>The DNS names and IP addresses a certificate's subject alternative names hold (IPs in their canonical text form).</summary>
    public static IReadOnlySet<string> Names(X509Certificate2 certificate)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var ext in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            foreach (var dns in ext.EnumerateDnsNames())
            {
                names.Add(dns);
            }
            foreach (var ip in ext.EnumerateIPAddresses())
            {
                names.Add(ip.ToString());
            }
        }
        return names;
    }

    /// <summary>
    /// Throws unless host <paramref name="name"/>'s certificate, key and the CA file exist and are
    /// readable: a server cannot start with TLS otherwise. Nothing to check with TLS disabled.
    /// </summary>
    /// <exception cref="Errors.ConfigException">a file is missing or unreadable (exit 3), naming it and the fix.</exception>
    public static void RequireHostFiles(ClusterConfig cluster, string name)
    {
        var tls = cluster.Tls;
        if (!tls.Enabled)
        {
            return;
        }
        foreach (var (what, path) in new[] { ("CA certificate", tls.CaFile), ($"certificate of {name}", tls.CertFile(name)), ($"private key of {name}", tls.KeyFile(name)) })
        {
            try
            {
                using var _ = File.OpenRead(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var fix = tls.Mode == TlsMode.Generated
                    ? $"`pgwarden up` generates it; on a host of its own, copy only ca.crt, {name}.crt and {name}.key from the cluster's tls/ directory (never ca.key, admin.key or another host's key; docs/tls.md)"
                    : "install it, fix tls: in the cluster configuration, or set tls: disabled to run in plain text";
                throw new Errors.ConfigException($"TLS is on, but the {what} {path} cannot be read ({e.Message}); {fix}");
            }
        }
    }

    /// <summary>The address a host certificate must name, in the canonical form <see cref="Names"/> returns.</summary>
    public static string Canonical(string address) => IPAddress.TryParse(address, out var ip) ? ip.ToString() : address;
}
