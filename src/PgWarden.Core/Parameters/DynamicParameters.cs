using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using PgWarden.Core.Config;

namespace PgWarden.Core.Parameters;

/// <summary>
/// The PostgreSQL parameters kept in the DCS (<see cref="Dcs.DcsConfig.Parameters"/>): which names a
/// user may set there, and the fingerprint an agent publishes once its configuration carries them.
/// </summary>
public static partial class DynamicParameters
{
    /// <summary>
    /// Parameters PgWarden owns and `config apply` refuses: the ones the configuration file refuses
    /// (<see cref="ConfigLoader.ManagedParameters"/>: addresses, ports, replication, archiving, file
    /// locations) plus synchronous_standby_names, which follows `synchronous_mode`.
    /// </summary>
    public static readonly IReadOnlySet<string> Owned = new HashSet<string>(ConfigLoader.ManagedParameters.Append("synchronous_standby_names"), StringComparer.Ordinal);

    /// <summary>Null when <paramref name="name"/> may be set with `config apply`, otherwise why not (one sentence).</summary>
    public static string? WhyNotSettable(string name)
    {
        if (!NamePattern().IsMatch(name))
        {
            return $"'{name}' is not a valid PostgreSQL parameter name";
        }
        if (name is "include" or "include_dir" or "include_if_exists")
        {
            return $"{name} is a postgresql.conf directive, not a parameter, and cannot be set with config apply";
        }
        return Owned.Contains(name)
            ? $"{name} is managed by PgWarden (ports, addresses, replication, archiving and authentication files follow the cluster configuration) and cannot be set with config apply"
            : null;
    }

    /// <summary>A short, order-independent fingerprint of a parameter set (SHA-256 of the sorted name=value lines, 16 hex digits); "" for none.</summary>
    public static string Fingerprint(IReadOnlyDictionary<string, string> parameters)
    {
        if (parameters.Count == 0)
        {
            return "";
        }
        var text = string.Join("\n", parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>Same names and values (order does not matter).</summary>
    public static bool SameAs(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);

    [GeneratedRegex("^[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)?$")]
    private static partial Regex NamePattern();
}
