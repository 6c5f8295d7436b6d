using System.Globalization;
using PgWarden.Core.Errors;
using YamlDotNet.RepresentationModel;

namespace PgWarden.Core.Config;

/// <summary>
/// A YAML mapping read key by key, so that every error names its key path ("nodes[1].port") and
/// keys nobody asked for are reported as unknown.
/// </summary>
internal sealed class YamlMap
{
    private readonly YamlMappingNode _node;
    private readonly string _path;
    private readonly string _file;
    private readonly HashSet<string> _read = [];

    public YamlMap(YamlMappingNode node, string path, string file)
    {
        _node = node;
        _path = path;
        _file = file;
    }

    public string Path => _path;

    public ConfigException Error(string key, string what) => new($"{_file}: {Key(key)}: {what}");

    public string Key(string key) => _path.Length == 0 ? key : $"{_path}.{key}";

    private YamlNode? Raw(string key)
    {
        _read.Add(key);
        foreach (var (k, v) in _node.Children)
        {
            if (k is YamlScalarNode s && s.Value == key)
            {
                return v is YamlScalarNode { Value: null or "" or "~" or "null" } ? null : v;
            }
        }
        return null;
    }

    public string? OptString(string key)
    {
        var raw = Raw(key);
        return raw switch
        {
            null => null,
            YamlScalarNode s => s.Value,
            _ => throw Error(key, "must be a single value, not a list or mapping"),
        };
    }

    public string String(string key, string? fallback = null) =>
        OptString(key) ?? fallback ?? throw Error(key, "is required");

    public int Int(string key, int? fallback, int min, int max)
    {
        var text = OptString(key);
        if (text is null)
        {
            return fallback ?? throw Error(key, "is required");
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(key, $"'{text}' is not a whole number");
        }
        if (value < min || value > max)
        {
            throw Error(key, $"{value} is out of range ({min}..{max})");
        }
        return value;
    }

    public bool Bool(string key, bool fallback)
    {
        var text = OptString(key);
        return text?.ToLowerInvariant() switch
        {
            null => fallback,
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => throw Error(key, $"'{text}' must be true or false"),
        };
    }

    public YamlMap? OptMap(string key)
    {
        var raw = Raw(key);
        return raw switch
        {
            null => null,
            YamlMappingNode m => new YamlMap(m, Key(key), _file),
            _ => throw Error(key, "must be a mapping (key: value lines)"),
        };
    }

    /// <summary>A key that may be a single value or a mapping: the value in <paramref name="scalar"/>, or the mapping returned.</summary>
    public YamlMap? OptMapOrScalar(string key, out string? scalar)
    {
        var raw = Raw(key);
        scalar = raw is YamlScalarNode s ? s.Value : null;
        return raw switch
        {
            null or YamlScalarNode => null,
            YamlMappingNode m => new YamlMap(m, Key(key), _file),
            _ => throw Error(key, "must be a single value or a mapping, not a list"),
        };
    }

    public IReadOnlyList<YamlMap> MapList(string key)
    {
        var raw = Raw(key);
        if (raw is null)
        {
            return [];
        }
        if (raw is not YamlSequenceNode seq)
        {
            throw Error(key, "must be a list");
        }
        var list = new List<YamlMap>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is not YamlMappingNode m)
            {
                throw new ConfigException($"{_file}: {Key(key)}[{i}]: must be a mapping (name: …, port: …)");
            }
            list.Add(new YamlMap(m, $"{Key(key)}[{i}]", _file));
        }
        return list;
    }

    public IReadOnlyList<string> StringList(string key)
    {
        var raw = Raw(key);
        return raw switch
        {
            null => [],
            YamlSequenceNode seq => seq.Children.Select((c, i) => c is YamlScalarNode { Value: { } v }
                ? v
                : throw new ConfigException($"{_file}: {Key(key)}[{i}]: must be a single value")).ToList(),
            YamlScalarNode { Value: { } one } => [one],
            _ => throw Error(key, "must be a list of values"),
        };
    }

    /// <summary>Every key/value of a free-form mapping (e.g. PostgreSQL parameters), in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> FreeForm()
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (k, v) in _node.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? throw new ConfigException($"{_file}: {_path}: keys must be plain names");
            if (v is not YamlScalarNode s || s.Value is null)
            {
                throw new ConfigException($"{_file}: {Key(key)}: must be a single value");
            }
            _read.Add(key);
            list.Add(new(key, s.Value));
        }
        return list;
    }

    /// <summary>Throws on the first key of this mapping that was never read: a typo or an unsupported setting.</summary>
    public void RejectUnknownKeys(IEnumerable<string>? hints = null)
    {
        foreach (var (k, _) in _node.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "?";
            if (!_read.Contains(key))
            {
                var known = string.Join(", ", hints ?? _read.Order());
                throw Error(key, $"unknown key (known keys here: {known})");
            }
        }
    }
}
