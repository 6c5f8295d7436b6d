namespace PgWarden.Core.Install;

/// <summary>
/// systemd's <c>LoadCredential=ID:PATH</c> (systemd.exec(5), "Credentials"; systemd 247 and later): the
/// service manager reads PATH as root and hands the service a private copy, readable only by the unit's
/// user, as <c>$CREDENTIALS_DIRECTORY/ID</c>. A service that runs as an unprivileged user (the embedded
/// etcd's unit runs as <c>etcd</c>) so reads files that stay owned by their owner with mode 0600.
/// </summary>
public static class SystemdCredentials
{
    /// <summary>The credential holding the cluster's secrets file (the embedded etcd's unit).</summary>
    public const string Secrets = "secrets.yaml";

    /// <summary>The credential holding the etcd server's TLS private key.</summary>
    public const string EtcdKey = "etcd.key";

    /// <summary>
    /// <c>$CREDENTIALS_DIRECTORY/<paramref name="id"/></c> when systemd passed that credential, otherwise
    /// <paramref name="path"/> (the file itself: run by hand, by `pgwarden up`, or by a unit without it).
    /// </summary>
    public static string PathOr(string id, string path, string? credentialsDirectory = null)
    {
        var dir = credentialsDirectory ?? Environment.GetEnvironmentVariable("CREDENTIALS_DIRECTORY");
        if (string.IsNullOrEmpty(dir))
        {
            return path;
        }
        var credential = System.IO.Path.Combine(dir, id);
        return File.Exists(credential) ? credential : path;
    }
}
