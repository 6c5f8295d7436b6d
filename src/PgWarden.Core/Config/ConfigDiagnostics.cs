using PgWarden.Core.Errors;
using YamlDotNet.Core;

namespace PgWarden.Core.Config;

/// <summary>
/// Collects every problem found while reading one configuration file, each with the line and column
/// (1-based, as YamlDotNet's <see cref="Mark"/> counts them) where the offending key or value starts,
/// so that <c>pgwarden config check</c> can list them all at once. One problem per key path: a value
/// that is already wrong is not reported again by a later check that depends on it.
/// </summary>
internal sealed class ConfigDiagnostics(string file)
{
    private readonly List<ConfigProblem> _problems = [];
    private readonly HashSet<string> _failed = [];
    private readonly Dictionary<string, Mark> _positions = [];

    public string File => file;

    public bool Any => _problems.Count > 0;

    /// <summary>Remembers where <paramref name="keyPath"/> was found, for problems reported later by cross-checks.</summary>
    public void Locate(string keyPath, Mark at) => _positions.TryAdd(keyPath, at);

    /// <summary>Whether a problem was reported for <paramref name="keyPath"/> (its value is a placeholder).</summary>
    public bool Failed(string keyPath) => _failed.Contains(keyPath);

    /// <summary>Records a problem at <paramref name="keyPath"/>; at <paramref name="at"/>, else where the key was found.</summary>
    public void Report(string keyPath, string what, Mark? at = null)
    {
        if (!_failed.Add(keyPath))
        {
            return;
        }
        var mark = at ?? Position(keyPath);
        _problems.Add(new ConfigProblem(file, (int)(mark?.Line ?? 0), (int)(mark?.Column ?? 0), keyPath, what));
    }

    /// <summary>Where <paramref name="keyPath"/> was found, else where its closest enclosing key was ("nodes[1].data_dir" → "nodes[1]" → "nodes").</summary>
    private Mark? Position(string keyPath)
    {
        for (var path = keyPath; path.Length > 0; path = path[..Math.Max(0, Math.Max(path.LastIndexOf('.'), path.LastIndexOf('[')))])
        {
            if (_positions.TryGetValue(path, out var mark))
            {
                return mark;
            }
        }
        return null;
    }

    /// <summary>Records a problem that belongs to no key (the file as a whole, a syntax error).</summary>
    public void ReportFile(string what, int line, int column) =>
        _problems.Add(new ConfigProblem(file, line, column, "", what));

    /// <summary>Throws one <see cref="ConfigException"/> carrying every problem, in file order, if there is any.</summary>
    public void ThrowIfAny()
    {
        if (_problems.Count > 0)
        {
            throw new ConfigException(_problems
                .OrderBy(p => p.Line == 0 ? int.MaxValue : p.Line).ThenBy(p => p.Column)
                .Select(p => p.ToString()).ToList());
        }
    }
}
