using System.Text;

namespace PgWarden.Core.Install;

/// <summary>
/// A systemd unit (or drop-in) being written: sections of <c>Key=value</c> lines in the order given,
/// each optionally preceded by comment lines that explain the choice. Values must already be quoted
/// (<see cref="SystemdQuoting"/>).
/// </summary>
public sealed class UnitFile
{
    private readonly StringBuilder _text = new();
    private string? _section;

    public UnitFile(params string[] header)
    {
        foreach (var line in header)
        {
            _text.Append("# ").Append(line).Append('\n');
        }
    }

    public UnitFile Section(string name)
    {
        _text.Append(_text.Length > 0 ? "\n" : "").Append('[').Append(name).Append("]\n");
        _section = name;
        return this;
    }

    /// <summary>Adds <c>key=value</c> to the current section, after <paramref name="why"/> as comment lines.</summary>
    public UnitFile Set(string key, string value, params string[] why)
    {
        _ = _section ?? throw new InvalidOperationException("a unit entry needs a section");
        foreach (var line in why)
        {
            _text.Append("# ").Append(line).Append('\n');
        }
        _text.Append(key).Append('=').Append(value).Append('\n');
        return this;
    }

    public override string ToString() => _text.ToString();
}
