using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using YamlDotNet.RepresentationModel;

namespace PgWarden.Core.Security;

/// <summary>
/// Where a process's etcd credentials come from: the file <c>dcs.credentials_file</c> names (for a
/// user's own etcd with users of its own), else the secrets file of the host
/// (<see cref="ClusterSecrets.EtcdClientCredentials"/>). Never from cluster.yaml, never from a command line.
/// </summary>
public static class DcsCredentialsSource
{
    /// <summary>
    /// The credentials to log in to etcd with; null when neither source has any (etcd without
    /// authentication). Throws <see cref="PgWardenException"/> (exit 3) for a credentials file that is
    /// missing or malformed, exit 7 when other users may read it.
    /// </summary>
    public static DcsCredentials? Resolve(ClusterConfig cluster, ClusterSecrets? secrets, bool readOnly) =>
        cluster.Dcs.CredentialsFile is { } file ? Load(file) : secrets?.EtcdClientCredentials(cluster.Name, readOnly);

    /// <summary>Reads a credentials file: YAML with <c>user:</c> and <c>password:</c>, mode 0600.</summary>
    public static DcsCredentials Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"etcd credentials file {path} (dcs.credentials_file) does not exist");
        }
        if ((File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"etcd credentials file {path} is readable by other users; run: chmod 600 {path}");
        }
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(path)));
            if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode map)
            {
                string? Get(string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode { Value: { Length: > 0 } s } ? s : null;
                if (Get("user") is { } user && Get("password") is { } password)
                {
                    return new DcsCredentials(user, password);
                }
            }
        }
        catch (YamlDotNet.Core.YamlException)
        {
        }
        throw new PgWardenException(ExitCodes.ConfigError, $"etcd credentials file {path} must be YAML with 'user:' and 'password:'");
    }
}
