namespace PgWarden.Core.Tests.Install;

/// <summary>A rendered unit file read back: (section, key) → values in order; comments and blank lines skipped.</summary>
internal sealed class UnitText
{
    private readonly List<(string Section, string Key, string Value)> _entries = [];

    public UnitText(string text)
    {
        var section = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            if (line.StartsWith('['))
            {
                section = line.Trim('[', ']');
                continue;
            }
            var eq = line.IndexOf('=');
            Assert.True(eq > 0, $"not a Key=value line: {line}");
            _entries.Add((section, line[..eq], line[(eq + 1)..]));
        }
    }

    public IReadOnlyList<string> All(string section, string key) =>
        _entries.Where(e => e.Section == section && e.Key == key).Select(e => e.Value).ToList();

    /// <summary>The one value of <paramref name="key"/>; fails when it is missing or set twice.</summary>
    public string One(string section, string key)
    {
        var values = All(section, key);
        Assert.True(values.Count == 1, $"[{section}] {key}= set {values.Count} times");
        return values[0];
    }

    public bool Has(string section, string key) => All(section, key).Count > 0;
}
