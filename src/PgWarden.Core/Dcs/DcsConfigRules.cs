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
        if (WhyLoopTooSlow(config.Ttl, config.LoopWait) is { } why)
        {
            return $"loop_wait {config.LoopWait} s {why}";
        }
        return config.MaximumLagOnFailover < 0 ? $"maximum_lag_on_failover {config.MaximumLagOnFailover} must not be negative" : null;
    }

    /// <summary>
    /// Null when a leader renewing every <paramref name="loopWait"/> seconds keeps its fence quiet under a
    /// <paramref name="ttl"/>-second lease, otherwise why not ("is too long for …"). The fence watchdog
    /// fires ttl − max(1 s, ttl/10) after a renewal was sent; the rule leaves room for two late loops plus
    /// one DCS call at its 2 s timeout, so one slow cycle never fences a healthy primary.
    /// </summary>
    public static string? WhyLoopTooSlow(int ttl, int loopWait)
    {
        var fenceAfter = ttl - Math.Max(1.0, ttl / 10.0);
        var needed = 2 * loopWait + DcsCallTimeoutSeconds;
        return fenceAfter >= needed ? null
            : $"is too long for a ttl of {ttl} s: the fence fires {fenceAfter:0.#} s after a renewal, and two loops plus one DCS call ({DcsCallTimeoutSeconds} s) need {needed} s (ttl 5 allows loop_wait 1; ttl 10 allows up to 3)";
    }

    /// <summary>The time one DCS call may take before it counts as failed, in seconds.</summary>
    public const int DcsCallTimeoutSeconds = 2;

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
