using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PgWarden.Core.Config;

/// <summary>
/// A YAML mapping read key by key, so that every problem names its key path ("nodes[1].port") and its
/// line and column, and keys nobody asked for are reported as unknown. Problems are collected in the
/// shared <see cref="ConfigDiagnostics"/> instead of thrown, and a read that fails returns a placeholder
/// (the fallback, the minimum, an empty value), so that one pass finds every problem of a file.
/// </summary>
internal sealed class YamlMap
{
    private readonly YamlMappingNode _node;
    private readonly string _path;
    private readonly ConfigDiagnostics _diagnostics;
    private readonly HashSet<string> _read = [];

    public YamlMap(YamlMappingNode node, string path, ConfigDiagnostics diagnostics)
    {
        _node = node;
        _path = path;
        _diagnostics = diagnostics;
    }

    public string Path => _path;

    public ConfigDiagnostics Diagnostics => _diagnostics;

    /// <summary>Records a problem of <paramref name="key"/> (a dotted path below this mapping is allowed), at its value.</summary>
    public void Report(string key, string what) => _diagnostics.Report(Key(key), what, Find(key) ?? _node.Start);

    /// <summary>Whether a problem was already reported for <paramref name="key"/>.</summary>
    public bool Failed(string key) => _diagnostics.Failed(Key(key));

    public string Key(string key) => _path.Length == 0 ? key : $"{_path}.{key}";

    /// <summary>Where the value of <paramref name="key"/> starts (or the key itself, for an empty value); dotted paths go down mappings.</summary>
    private Mark? Find(string key)
    {
        foreach (var (k, v) in _node.Children)
        {
            if (k is YamlScalarNode s && s.Value == key)
            {
                return v is YamlScalarNode { Value: null or "" } ? k.Start : v.Start;
            }
        }
        var dot = key.IndexOf('.');
        if (dot > 0 && Raw(key[..dot], markRead: false) is YamlMappingNode child)
        {
            return new YamlMap(child, Key(key[..dot]), _diagnostics).Find(key[(dot + 1)..]);
        }
        return null;
    }

    private YamlNode? Raw(string key, bool markRead = true)
    {
        if (markRead)
        {
            _read.Add(key);
        }
        foreach (var (k, v) in _node.Children)
        {
            if (k is YamlScalarNode s && s.Value == key)
            {
                if (markRead)
                {
                    _diagnostics.Locate(Key(key), v is YamlScalarNode { Value: null or "" } ? k.Start : v.Start);
                }
                return v is YamlScalarNode { Value: null or "" or "~" or "null" } ? null : v;
            }
        }
        return null;
    }

    public string? OptString(string key)
    {
        var raw = Raw(key);
        switch (raw)
        {
            case null:
                return null;
            case YamlScalarNode s:
                return s.Value;
            default:
                Report(key, "must be a single value, not a list or mapping");
                return null;
        }
    }

    /// <summary>The value of <paramref name="key"/>, else <paramref name="fallback"/>; when both are missing, "is required" is reported and "" returned.</summary>
    public string String(string key, string? fallback = null)
    {
        var value = OptString(key) ?? fallback;
        if (value is null)
        {
            Report(key, "is required");
        }
        return value ?? "";
    }

    public int Int(string key, int? fallback, int min, int max)
    {
        var text = OptString(key);
        if (text is null)
        {
            if (fallback is null)
            {
                Report(key, "is required");
            }
            return fallback ?? min;
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            Report(key, $"'{text}' is not a whole number");
            return fallback ?? min;
        }
        if (value < min || value > max)
        {
            Report(key, $"{value} is out of range ({min}..{max})");
            return fallback ?? min;
        }
        return value;
    }

    public bool Bool(string key, bool fallback)
    {
        var text = OptString(key);
        switch (text?.ToLowerInvariant())
        {
            case null:
                return fallback;
            case "true" or "yes" or "on":
                return true;
            case "false" or "no" or "off":
                return false;
            default:
                Report(key, $"'{text}' must be true or false");
                return fallback;
        }
    }

    public YamlMap? OptMap(string key)
    {
        var raw = Raw(key);
        switch (raw)
        {
            case null:
                return null;
            case YamlMappingNode m:
                return new YamlMap(m, Key(key), _diagnostics);
            default:
                Report(key, "must be a mapping (key: value lines)");
                return null;
        }
    }

    /// <summary>A key that may be a single value or a mapping: the value in <paramref name="scalar"/>, or the mapping returned.</summary>
    public YamlMap? OptMapOrScalar(string key, out string? scalar)
    {
        var raw = Raw(key);
        scalar = raw is YamlScalarNode s ? s.Value : null;
        switch (raw)
        {
            case null or YamlScalarNode:
                return null;
            case YamlMappingNode m:
                return new YamlMap(m, Key(key), _diagnostics);
            default:
                Report(key, "must be a single value or a mapping, not a list");
                return null;
        }
    }

    /// <summary>A list of mappings; an element that is not a mapping is reported and left out.</summary>
    public IReadOnlyList<YamlMap> MapList(string key)
    {
        var raw = Raw(key);
        if (raw is null)
        {
            return [];
        }
        if (raw is not YamlSequenceNode seq)
        {
            Report(key, "must be a list");
            return [];
        }
        var list = new List<YamlMap>();
        for (var i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is not YamlMappingNode m)
            {
                _diagnostics.Report($"{Key(key)}[{i}]", "must be a mapping (name: …, port: …)", seq.Children[i].Start);
                continue;
            }
            _diagnostics.Locate($"{Key(key)}[{i}]", m.Start);
            list.Add(new YamlMap(m, $"{Key(key)}[{i}]", _diagnostics));
        }
        return list;
    }

    /// <summary>A list of values (a single value counts as a list of one); an element that is not a value is reported and left out.</summary>
    public IReadOnlyList<string> StringList(string key)
    {
        var raw = Raw(key);
        switch (raw)
        {
            case null:
                return [];
            case YamlScalarNode { Value: { } one }:
                return [one];
            case YamlSequenceNode seq:
                var list = new List<string>();
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    if (seq.Children[i] is YamlScalarNode { Value: { } v })
                    {
                        list.Add(v);
                    }
                    else
                    {
                        _diagnostics.Report($"{Key(key)}[{i}]", "must be a single value", seq.Children[i].Start);
                    }
                }
                return list;
            default:
                Report(key, "must be a list of values");
                return [];
        }
    }

    /// <summary>Every key/value of a free-form mapping (e.g. PostgreSQL parameters), in file order; entries that are not key: value are reported and left out.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> FreeForm()
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (k, v) in _node.Children)
        {
            if ((k as YamlScalarNode)?.Value is not { } key)
            {
                _diagnostics.Report(_path, "keys must be plain names", k.Start);
                continue;
            }
            _read.Add(key);
            _diagnostics.Locate(Key(key), v.Start);
            if (v is not YamlScalarNode s || s.Value is null)
            {
                _diagnostics.Report(Key(key), "must be a single value", v.Start);
                continue;
            }
            list.Add(new(key, s.Value));
        }
        return list;
    }

    /// <summary>Reports every key of this mapping that was never read: a typo or an unsupported setting.</summary>
    public void RejectUnknownKeys(IEnumerable<string>? hints = null)
    {
        foreach (var (k, _) in _node.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "?";
            if (!_read.Contains(key))
            {
                var known = string.Join(", ", hints ?? _read.Order());
                _diagnostics.Report(Key(key), $"unknown key (known keys here: {known})", k.Start);
            }
        }
    }
}
