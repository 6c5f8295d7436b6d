using System.Collections.Immutable;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Units;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PgWarden.Core.Parameters;

/// <summary>
/// What `pgwarden config apply` asks to change: dynamic DCS settings (null: unchanged) and
/// PostgreSQL parameters (a null value removes the parameter from the DCS, so the configuration
/// file's or the computed value applies again). Patroni's `edit-config --set/--pg/--apply`.
/// </summary>
public sealed record ConfigPatch(
    int? Ttl,
    int? LoopWait,
    long? MaximumLagOnFailover,
    bool? SynchronousMode,
    ImmutableSortedDictionary<string, string?> Parameters)
{
    /// <summary>The DCS settings `--set` and the file's <c>dcs:</c> section accept.</summary>
    public static readonly IReadOnlyList<string> DcsKeys = ["ttl", "loop_wait", "maximum_lag_on_failover", "synchronous_mode"];

    public static readonly ConfigPatch Empty = new(null, null, null, null, ImmutableSortedDictionary<string, string?>.Empty.WithComparers(StringComparer.Ordinal));

    public bool IsEmpty => Ttl is null && LoopWait is null && MaximumLagOnFailover is null && SynchronousMode is null && Parameters.IsEmpty;

    /// <summary>
    /// `--set key=value` (a DCS setting when the key is one of <see cref="DcsKeys"/>, else a PostgreSQL
    /// parameter) and `--reset NAME` (remove a parameter). Throws Usage for a malformed assignment.
    /// </summary>
    public static ConfigPatch FromCommandLine(IEnumerable<string> assignments, IEnumerable<string> resets)
    {
        var patch = Empty;
        foreach (var a in assignments)
        {
            var eq = a.IndexOf('=');
            if (eq <= 0)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--set '{a}': expected NAME=VALUE (e.g. --set work_mem=16MB or --set loop_wait=2)");
            }
            patch = patch.With(a[..eq].Trim(), a[(eq + 1)..].Trim(), m => new PgWardenException(ExitCodes.Usage, $"--set {m}"));
        }
        foreach (var r in resets)
        {
            if (DcsKeys.Contains(r))
            {
                throw new PgWardenException(ExitCodes.Usage, $"--reset {r}: a DCS setting cannot be removed; set it with --set {r}=VALUE");
            }
            patch = patch with { Parameters = patch.Parameters.SetItem(r.Trim(), null) };
        }
        return patch;
    }

    /// <summary>
    /// A YAML file in the shape of the cluster configuration: <c>dcs:</c> (ttl, loop_wait,
    /// maximum_lag_on_failover, synchronous_mode) and <c>postgres: parameters:</c> (a plain
    /// <c>null</c> or <c>~</c> removes one). Throws <see cref="ConfigException"/> naming the file, line and key.
    /// </summary>
    public static ConfigPatch FromYaml(string yaml, string fileName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigException($"{fileName}: line {e.Start.Line}: not valid YAML ({e.Message})");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigException($"{fileName}: must be a YAML mapping with 'dcs:' and/or 'postgres: parameters:'");
        }
        if (stream.Documents.Count > 1)
        {
            throw new ConfigException($"{fileName}: line {stream.Documents[1].RootNode.Start.Line}: a second YAML document (after '---') is not read: keep every change in one document");
        }
        var patch = Empty;
        ConfigException Error(YamlNode at, string what) => new($"{fileName}: line {at.Start.Line}: {what}");
        foreach (var (k, v) in root.Children)
        {
            var key = (k as YamlScalarNode)?.Value;
            if (key == "dcs" && v is YamlMappingNode dcs)
            {
                foreach (var (dk, dv) in dcs.Children)
                {
                    var name = (dk as YamlScalarNode)?.Value ?? "?";
                    if (!DcsKeys.Contains(name))
                    {
                        throw Error(dk, $"dcs.{name}: unknown key (known keys here: {string.Join(", ", DcsKeys)})");
                    }
                    patch = patch.With(name, (dv as YamlScalarNode)?.Value ?? "", m => Error(dv, $"dcs.{m}"));
                }
            }
            else if (key == "postgres" && v is YamlMappingNode pg)
            {
                foreach (var (pk, pv) in pg.Children)
                {
                    if ((pk as YamlScalarNode)?.Value != "parameters" || pv is not YamlMappingNode parameters)
                    {
                        throw Error(pk, $"postgres.{(pk as YamlScalarNode)?.Value}: unknown key (known keys here: parameters, a mapping)");
                    }
                    foreach (var (nk, nv) in parameters.Children)
                    {
                        var name = (nk as YamlScalarNode)?.Value ?? "?";
                        if (nv is not YamlScalarNode scalar)
                        {
                            throw Error(nv, $"postgres.parameters.{name}: must be a single value");
                        }
                        var remove = scalar.Style == ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null";
                        patch = patch with { Parameters = patch.Parameters.SetItem(name, remove ? null : scalar.Value) };
                    }
                }
            }
            else
            {
                throw Error(k, $"{key}: unknown key (known keys: dcs, postgres.parameters)");
            }
        }
        return patch;
    }

    /// <summary>Later values win.</summary>
    public ConfigPatch Merge(ConfigPatch later) => new(
        later.Ttl ?? Ttl, later.LoopWait ?? LoopWait, later.MaximumLagOnFailover ?? MaximumLagOnFailover, later.SynchronousMode ?? SynchronousMode,
        Parameters.SetItems(later.Parameters));

    /// <summary>The DCS configuration after this patch (parameters set or removed; paused unchanged).</summary>
    public DcsConfig ApplyTo(DcsConfig current)
    {
        var parameters = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, current.Parameters);
        foreach (var (name, value) in Parameters)
        {
            parameters = value is null ? parameters.Remove(name) : parameters.SetItem(name, value);
        }
        return current with
        {
            Ttl = Ttl ?? current.Ttl,
            LoopWait = LoopWait ?? current.LoopWait,
            MaximumLagOnFailover = MaximumLagOnFailover ?? current.MaximumLagOnFailover,
            SynchronousMode = SynchronousMode ?? current.SynchronousMode,
            Parameters = parameters,
        };
    }

    private ConfigPatch With(string name, string value, Func<string, Exception> error)
    {
        switch (name)
        {
            case "ttl":
                return this with { Ttl = int.TryParse(value, out var t) ? t : throw error($"ttl: '{value}' is not a whole number of seconds") };
            case "loop_wait":
                return this with { LoopWait = int.TryParse(value, out var l) ? l : throw error($"loop_wait: '{value}' is not a whole number of seconds") };
            case "maximum_lag_on_failover":
                return this with { MaximumLagOnFailover = ByteSize.TryParse(value, out var b) && b >= 0 ? b : throw error($"maximum_lag_on_failover: '{value}' is not a size (e.g. 1MB)") };
            case "synchronous_mode":
                return this with
                {
                    SynchronousMode = value.ToLowerInvariant() switch
                    {
                        "true" or "on" or "yes" => true,
                        "false" or "off" or "no" => false,
                        _ => throw error($"synchronous_mode: '{value}' is not true or false"),
                    },
                };
            default:
                return this with { Parameters = Parameters.SetItem(name, value) };
        }
    }
}
