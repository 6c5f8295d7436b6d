using System.Text;

namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// <c>&lt;cluster&gt;/encryption</c>: a plain object saying the cluster's files in this repository are encrypted.
/// Written before the first encrypted file; an encrypting writer refuses a repository that already holds the
/// cluster's files without it, and a plain writer refuses one that has it — a repository never mixes the two.
/// (It is a guard against configuration mistakes, not a security boundary: every read checks each file itself.)
/// </summary>
public static class EncryptionMarker
{
    public const string Name = "encryption";

    public static string Key(string cluster) => $"{cluster}/{Name}";

    /// <summary>The cluster (first path element) of a repository key; null for keys outside any cluster.</summary>
    public static string? ClusterOf(string key)
    {
        var slash = key.IndexOf('/');
        return slash > 0 && !key.StartsWith(WrappedDataKey.Root, StringComparison.Ordinal) ? key[..slash] : null;
    }

    public static bool IsMarker(string key) => ClusterOf(key) is { } c && key == Key(c);

    public static byte[] Body => Encoding.UTF8.GetBytes(
        "PgWarden backup encryption: aes-256-gcm-chunked v1 (see docs/backup-encryption.md).\n"
        + "Every other file of this cluster in this repository is encrypted; the master key is kept outside the repository.\n");
}
