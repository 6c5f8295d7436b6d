namespace PgWarden.Core.Dcs;

/// <summary>The limits of the dynamic settings, shared by the configuration file and PATCH /config.</summary>
public static class DcsConfigRules
{
    /// <summary>Null when <paramref name="config"/> is acceptable, otherwise why not (one sentence).</summary>
    public static string? Validate(DcsConfig config)
    {
        if (config.Ttl is < 2 or > 300)
        {
            return $"ttl {config.Ttl} s is out of range (2..300)";
        }
        if (config.LoopWait is < 1 or > 60)
        {
            return $"loop_wait {config.LoopWait} s is out of range (1..60)";
        }
        if (config.LoopWait * 2 > config.Ttl)
        {
            return $"loop_wait {config.LoopWait} s is too long for a ttl of {config.Ttl} s: the leader must renew at least twice per ttl";
        }
        return config.MaximumLagOnFailover < 0 ? $"maximum_lag_on_failover {config.MaximumLagOnFailover} must not be negative" : null;
    }

    /// <summary>The settings that differ between <paramref name="running"/> and <paramref name="wanted"/>, as "ttl 5 → 20" phrases (paused is not a configuration setting).</summary>
    public static IReadOnlyList<string> Differences(DcsConfig running, DcsConfig wanted)
    {
        var list = new List<string>();
        void Compare<T>(string name, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
            {
                list.Add($"{name} {a} → {b}");
            }
        }
        Compare("ttl", running.Ttl, wanted.Ttl);
        Compare("loop_wait", running.LoopWait, wanted.LoopWait);
        Compare("maximum_lag_on_failover", running.MaximumLagOnFailover, wanted.MaximumLagOnFailover);
        Compare("synchronous_mode", running.SynchronousMode, wanted.SynchronousMode);
        return list;
    }
}
