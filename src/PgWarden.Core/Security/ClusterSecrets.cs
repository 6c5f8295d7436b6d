using PgWarden.Core.Errors;
using YamlDotNet.RepresentationModel;

namespace PgWarden.Core.Security;

/// <summary>
/// The cluster's generated passwords, kept in one file readable by its owner only (0600).
/// Everything else (pg roles, PgBouncer's userlist) gets SCRAM secrets derived from these.
/// </summary>
public sealed record ClusterSecrets(
    string SuperuserPassword,
    string ReplicationPassword,
    string AppPassword,
    string PoolerAdminPassword,
    string ApiToken)
{
    public static ClusterSecrets Generate() => new(
        PasswordGenerator.Generate(), PasswordGenerator.Generate(), PasswordGenerator.Generate(),
        PasswordGenerator.Generate(), PasswordGenerator.Generate(40));

    private static readonly string[] Keys = ["superuser_password", "replication_password", "app_password", "pooler_admin_password", "api_token"];

    public void Save(string path)
    {
        var lines = new[] { SuperuserPassword, ReplicationPassword, AppPassword, PoolerAdminPassword, ApiToken }
            .Select((v, i) => $"{Keys[i]}: \"{v}\"");
        SecureFile.WriteAllText(path, "# PgWarden cluster secrets. Keep this file private (mode 0600).\n" + string.Join('\n', lines) + "\n");
    }

    public static ClusterSecrets Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"secrets file {path} does not exist (it is created by `pgwarden up` or `pgwarden init`)");
        }
        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"secrets file {path} is readable by other users; run: chmod 600 {path}");
        }
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        var map = (YamlMappingNode)stream.Documents[0].RootNode;
        string Get(string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode { Value: { Length: > 0 } s }
            ? s
            : throw new PgWardenException(ExitCodes.ConfigError, $"secrets file {path}: '{key}' is missing");
        return new ClusterSecrets(Get(Keys[0]), Get(Keys[1]), Get(Keys[2]), Get(Keys[3]), Get(Keys[4]));
    }
}
