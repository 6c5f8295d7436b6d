using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using YamlDotNet.RepresentationModel;

namespace PgWarden.Core.Security;

/// <summary>
/// The cluster's generated secrets, kept in a file readable by its owner only (0600). `pgwarden up`
/// writes the full file (role <see cref="SecretsRole.Full"/>); `pgwarden secrets export` writes a
/// smaller file per host role (docs/secrets.md) with only the keys that host needs. A secret the file
/// does not hold throws <see cref="PgWardenException"/> (exit 3) naming the key and the file's role,
/// so a pooler host that is asked for the superuser password says so instead of failing later.
/// PostgreSQL roles and PgBouncer's userlist get SCRAM verifiers derived from these.
/// </summary>
public sealed class ClusterSecrets : IEquatable<ClusterSecrets>
{
    private readonly ImmutableSortedDictionary<string, string> _values;

    /// <summary>A full set (the file `pgwarden up` writes); the etcd passwords are null in a file written before etcd authentication.</summary>
    public ClusterSecrets(string superuserPassword, string replicationPassword, string appPassword, string poolerAdminPassword, string apiToken,
        string? etcdRootPassword = null, string? etcdAgentPassword = null, string? etcdPoolerPassword = null)
        : this(SecretsRole.Full, null, new Dictionary<string, string?>
        {
            [SecretKeys.Superuser] = superuserPassword,
            [SecretKeys.Replication] = replicationPassword,
            [SecretKeys.App] = appPassword,
            [SecretKeys.PoolerAdmin] = poolerAdminPassword,
            [SecretKeys.ApiToken] = apiToken,
            [SecretKeys.EtcdRoot] = etcdRootPassword,
            [SecretKeys.EtcdAgent] = etcdAgentPassword,
            [SecretKeys.EtcdPooler] = etcdPoolerPassword,
        }, null)
    {
    }

    internal ClusterSecrets(SecretsRole role, string? name, IEnumerable<KeyValuePair<string, string?>> values, string? source)
    {
        Role = role;
        Name = name;
        Source = source;
        _values = values.Where(kv => !string.IsNullOrEmpty(kv.Value))
            .ToImmutableSortedDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
    }

    /// <summary>Which host the file is for.</summary>
    public SecretsRole Role { get; }

    /// <summary>The node or pooler a <see cref="SecretsRole.Node"/> / <see cref="SecretsRole.Pooler"/> file is for; null otherwise.</summary>
    public string? Name { get; }

    /// <summary>The file it was loaded from, for error messages; null when built in memory.</summary>
    public string? Source { get; }

    /// <summary>The keys this file holds (values are not exposed here).</summary>
    public IEnumerable<string> Keys => _values.Keys;

    public string SuperuserPassword => Require(SecretKeys.Superuser);

    public string ReplicationPassword => Require(SecretKeys.Replication);

    public string AppPassword => Require(SecretKeys.App);

    public string PoolerAdminPassword => Require(SecretKeys.PoolerAdmin);

    /// <summary>The API token in the file: the cluster's master token (full file) or the node's own (node file).</summary>
    public string ApiToken => Require(SecretKeys.ApiToken);

    public string? EtcdRootPassword => _values.GetValueOrDefault(SecretKeys.EtcdRoot);

    public string? EtcdAgentPassword => _values.GetValueOrDefault(SecretKeys.EtcdAgent);

    public string? EtcdPoolerPassword => _values.GetValueOrDefault(SecretKeys.EtcdPooler);

    /// <summary>True when the three passwords etcd authentication is set up with are present.</summary>
    public bool HasEtcdPasswords => EtcdRootPassword is not null && EtcdAgentPassword is not null && EtcdPoolerPassword is not null;

    /// <summary>Generates a full set: 32-character passwords, a 40-character API token.</summary>
    public static ClusterSecrets Generate() => new(
        PasswordGenerator.Generate(), PasswordGenerator.Generate(), PasswordGenerator.Generate(),
        PasswordGenerator.Generate(), PasswordGenerator.Generate(40),
        PasswordGenerator.Generate(), PasswordGenerator.Generate(), PasswordGenerator.Generate());

    /// <summary>
    /// A full set written before etcd authentication existed gets the three etcd passwords (generated);
    /// any other set is returned unchanged. The caller saves the result.
    /// </summary>
    public ClusterSecrets WithEtcdPasswords()
    {
        if (Role != SecretsRole.Full || HasEtcdPasswords)
        {
            return this;
        }
        var values = _values.ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        values.TryAdd(SecretKeys.EtcdRoot, PasswordGenerator.Generate());
        values.TryAdd(SecretKeys.EtcdAgent, PasswordGenerator.Generate());
        values.TryAdd(SecretKeys.EtcdPooler, PasswordGenerator.Generate());
        return new ClusterSecrets(Role, Name, values, Source);
    }

    /// <summary>
    /// The SCRAM-SHA-256 verifier of the app user: from a pooler file as stored, else computed from
    /// the app password (<see cref="ScramSecret.ForRole"/>; every host computes the same one).
    /// </summary>
    public string AppScramSecret(string appUser) =>
        _values.GetValueOrDefault(SecretKeys.AppScram) ?? ScramSecret.ForRole(appUser, Require(SecretKeys.App));

    /// <summary>
    /// The token that authorises API calls to <paramref name="node"/>: HMAC-SHA256 of the node's name
    /// under the cluster's master token (a full file), or the token of a node file written for that
    /// node; null when this file cannot speak to that node (a node file for another node, a pooler file).
    /// </summary>
    public string? ApiTokenFor(string node)
    {
        if (Role == SecretsRole.Full && _values.TryGetValue(SecretKeys.ApiToken, out var master))
        {
            return DeriveNodeToken(master, node);
        }
        return Role == SecretsRole.Node && Name == node ? _values.GetValueOrDefault(SecretKeys.ApiToken) : null;
    }

    /// <summary>Tokens an agent for <paramref name="node"/> accepts: the node's own, and the master token when the file has it.</summary>
    public IReadOnlyList<string> AcceptedApiTokens(string node)
    {
        var tokens = new List<string>();
        if (ApiTokenFor(node) is { } own)
        {
            tokens.Add(own);
        }
        if (Role == SecretsRole.Full && _values.TryGetValue(SecretKeys.ApiToken, out var master))
        {
            tokens.Add(master);
        }
        return tokens;
    }

    /// <summary>
    /// The etcd user this host's processes log in with: the one a role file names, or from a full
    /// file the agents' read-write user (or, <paramref name="readOnly"/>, the poolers' read-only user);
    /// null when the file has no etcd credentials (a cluster created before etcd authentication).
    /// </summary>
    public DcsCredentials? EtcdClientCredentials(string cluster, bool readOnly)
    {
        if (_values.TryGetValue(SecretKeys.EtcdUser, out var user) && _values.TryGetValue(SecretKeys.EtcdPassword, out var password))
        {
            return new DcsCredentials(user, password);
        }
        if (Role != SecretsRole.Full)
        {
            return null;
        }
        var pw = readOnly ? EtcdPoolerPassword : EtcdAgentPassword;
        return pw is null ? null : new DcsCredentials(readOnly ? EtcdAuthNames.PoolerUser(cluster) : EtcdAuthNames.AgentUser(cluster), pw);
    }

    /// <summary>The value of <paramref name="key"/>, or null; for the export and the tests that scan exported files.</summary>
    public string? Get(string key) => _values.GetValueOrDefault(key);

    public void Save(string path)
    {
        var lines = new List<string> { "# PgWarden cluster secrets. Keep this file private (mode 0600)." };
        if (Role != SecretsRole.Full)
        {
            lines.Add($"role: {Role.ToString().ToLowerInvariant()}");
            if (Name is not null)
            {
                lines.Add($"name: {Quote(Name)}");
            }
        }
        lines.AddRange(SecretKeys.All.Where(_values.ContainsKey).Select(k => $"{k}: {Quote(_values[k])}"));
        SecureFile.WriteAllText(path, string.Join('\n', lines) + "\n");
    }

    /// <summary>
    /// Reads a secrets file. Throws <see cref="PgWardenException"/>: exit 3 when it is missing or
    /// malformed (or a full file lacks a key every full file has), exit 7 when group or others may read it.
    /// </summary>
    public static ClusterSecrets Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"secrets file {path} does not exist (it is created by `pgwarden up`, or for one host by `pgwarden secrets export`)");
        }
        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new PgWardenException(ExitCodes.UnsafeRefused, $"secrets file {path} is readable by other users; run: chmod 600 {path}");
        }
        YamlMappingNode map;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(path)));
            map = stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode m
                ? m
                : throw new PgWardenException(ExitCodes.ConfigError, $"secrets file {path} is not a mapping of keys to values");
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"secrets file {path} is not valid YAML (line {e.Start.Line})");
        }
        string? Get(string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode { Value: { Length: > 0 } s } ? s : null;
        var roleText = Get("role") ?? "full";
        if (!Enum.TryParse<SecretsRole>(roleText, ignoreCase: true, out var role) || !Enum.IsDefined(role))
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"secrets file {path}: role '{roleText}' is not one of full, node, pooler, etcd");
        }
        var secrets = new ClusterSecrets(role, Get("name"), SecretKeys.All.Select(k => new KeyValuePair<string, string?>(k, Get(k))), path);
        if (role == SecretsRole.Full)
        {
            foreach (var key in SecretKeys.FullRequired)
            {
                secrets.Require(key);
            }
        }
        return secrets;
    }

    private string Require(string key) => _values.TryGetValue(key, out var value)
        ? value
        : throw new PgWardenException(ExitCodes.ConfigError, Role == SecretsRole.Full
            ? $"secrets file {Source ?? "(in memory)"}: '{key}' is missing"
            : $"secrets file {Source ?? "(in memory)"} is the {Role.ToString().ToLowerInvariant()} host's{(Name is null ? "" : $" ({Name})")} and has no '{key}': run this on a host whose secrets hold it (see docs/secrets.md)");

    internal static string DeriveNodeToken(string master, string node)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(master), Encoding.UTF8.GetBytes("pgwarden-node-api-token:" + node));
        return Convert.ToHexStringLower(mac)[..40];
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    public bool Equals(ClusterSecrets? other) =>
        other is not null && Role == other.Role && Name == other.Name && _values.SequenceEqual(other._values);

    public override bool Equals(object? obj) => Equals(obj as ClusterSecrets);

    public override int GetHashCode() => HashCode.Combine(Role, Name, _values.Count);

    /// <summary>Names the role and the keys, never a value.</summary>
    public override string ToString() => $"ClusterSecrets({Role}{(Name is null ? "" : " " + Name)}: {string.Join(", ", _values.Keys)})";
}
