using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Parameters;

/// <summary>
/// The checked result of a <see cref="ConfigPatch"/> against the running cluster: the DCS
/// configuration to write and the differences to show. Every problem is reported at once in one
/// line; the exit code is the most serious kind found: a parameter PgWarden owns (7, refused), an
/// unknown parameter (11, not found), a malformed or out-of-range value or DCS setting (2, usage).
/// </summary>
public sealed record ConfigPlan(DcsConfig Next, IReadOnlyList<ConfigChange> Changes)
{
    /// <param name="catalog">pg_settings of the running primary, by name.</param>
    /// <exception cref="PgWardenException">when any requested change is not acceptable.</exception>
    public static ConfigPlan Build(DcsConfig current, ConfigPatch patch, IReadOnlyDictionary<string, PgSetting> catalog)
    {
        var owned = new List<string>();
        var unknown = new List<string>();
        var invalid = new List<string>();
        var changes = new List<ConfigChange>();
        foreach (var (name, value) in patch.Parameters)
        {
            if (DynamicParameters.WhyNotSettable(name) is { } why)
            {
                (DynamicParameters.Owned.Contains(name) ? owned : invalid).Add(why);
                continue;
            }
            if (!catalog.TryGetValue(name, out var setting))
            {
                unknown.Add(Suggest(name, catalog.Keys) is { } near ? $"unknown parameter {name} (did you mean {near}?)" : $"unknown parameter {name}");
                continue;
            }
            if (setting.Context == "internal")
            {
                invalid.Add($"{name} is fixed when PostgreSQL is built or the cluster initialised (context internal) and cannot be set");
                continue;
            }
            if (value is not null && ParameterValue.WhyInvalid(setting, value) is { } bad)
            {
                invalid.Add(bad);
                continue;
            }
            var now = current.Parameters.TryGetValue(name, out var inDcs) ? inDcs : setting.Display;
            if (value is null ? !current.Parameters.ContainsKey(name) : inDcs == value)
            {
                continue;
            }
            changes.Add(new ConfigChange(name, now, value, setting.NeedsRestart ? ParameterEffect.Restart : ParameterEffect.Reload));
        }
        var next = patch.ApplyTo(current);
        // Invariant 1: in synchronous mode no acknowledged write may be lost; synchronous_commit local
        // or off makes the primary acknowledge commits that no standby has.
        if (next.SynchronousMode && next.Parameters.TryGetValue("synchronous_commit", out var commit)
            && commit.Trim().ToLowerInvariant() is "local" or "off" or "false" or "no" or "0")
        {
            owned.Add($"synchronous_commit = {commit} with synchronous_mode on would acknowledge commits no standby has (lost on failover); use on, remote_apply or remote_write, or turn synchronous_mode off");
        }
        if (DcsConfigRules.Validate(next) is { } dcsError)
        {
            invalid.Add(dcsError);
        }
        var problems = owned.Concat(unknown).Concat(invalid).ToList();
        if (problems.Count > 0)
        {
            var code = owned.Count > 0 ? ExitCodes.UnsafeRefused : unknown.Count > 0 ? ExitCodes.NotFound : ExitCodes.Usage;
            throw new PgWardenException(code, $"config apply refused: {string.Join("; ", problems)}");
        }
        var dcsChanges = DcsConfigRules.Differences(current, next).Select(d =>
        {
            var parts = d.Split(' ', 2);
            var values = parts[1].Split(" → ");
            return new ConfigChange(parts[0], values[0], values[1], ParameterEffect.Dcs);
        });
        return new ConfigPlan(next, [.. dcsChanges, .. changes]);
    }

    /// <summary>The parameters that will wait for a restart.</summary>
    public IEnumerable<string> RestartNeeded => Changes.Where(c => c.Effect == ParameterEffect.Restart).Select(c => c.Name);

    /// <summary>The known name closest to <paramref name="name"/> (edit distance at most 3), for "did you mean".</summary>
    public static string? Suggest(string name, IEnumerable<string> known) =>
        known.Select(k => (k, d: Distance(name, k))).Where(x => x.d <= Math.Min(3, Math.Max(1, name.Length / 3)))
            .OrderBy(x => x.d).ThenBy(x => x.k, StringComparer.Ordinal).Select(x => x.k).FirstOrDefault();

    private static int Distance(string a, string b)
    {
        var prev = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var cur = new int[b.Length + 1];
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            prev = cur;
        }
        return prev[b.Length];
    }
}
