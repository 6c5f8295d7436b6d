using System.Security.Cryptography.X509Certificates;
using PgWarden.Core.Processes;
using PgWarden.Core.Security;

namespace PgWarden.Core.Tls;

/// <summary>Reads and writes certificates and private keys as PEM files.</summary>
public static class PemFiles
{
    /// <summary>Writes the certificate (public) as PEM, mode 0644, replaced atomically.</summary>
    public static void WriteCertificate(string path, X509Certificate2 certificate)
    {
        SecureFile.WriteAllText(path, certificate.ExportCertificatePem() + "\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
    }

    /// <summary>
    /// Writes the certificate's private key as PKCS#8 PEM, created 0600 before any byte is written,
    /// owned by <paramref name="owner"/> (uid, gid) when given and running as root: PostgreSQL
    /// refuses a key file that its OS user does not own or that group or others can read
    /// ("private key file has group or world access").
    /// </summary>
    /// <exception cref="ArgumentException">the certificate has no ECDSA private key.</exception>
    public static void WritePrivateKey(string path, X509Certificate2 certificate, (uint Uid, uint Gid)? owner)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("the certificate has no ECDSA private key", nameof(certificate));
        SecureFile.WriteAllText(path, key.ExportPkcs8PrivateKeyPem() + "\n");
        if (owner is { } o && Libc.IsRoot)
        {
            Libc.Chown(path, o.Uid, o.Gid);
        }
    }

    /// <summary>The first certificate of a PEM file (without its key).</summary>
    public static X509Certificate2 ReadCertificate(string path) => X509Certificate2.CreateFromPem(File.ReadAllText(path));

    /// <summary>A certificate with its private key from two PEM files.</summary>
    public static X509Certificate2 ReadWithKey(string certFile, string keyFile) => X509Certificate2.CreateFromPemFile(certFile, keyFile);
}
