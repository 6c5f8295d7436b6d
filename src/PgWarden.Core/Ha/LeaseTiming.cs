using PgWarden.Core.Dcs;

namespace PgWarden.Core.Ha;

/// <summary>
/// The deadlines that hang on a leader lease of a given TTL (docs/ha-safety.md, "Fencing"): when the
/// fence watchdog kills a primary that was not renewed, and when an agent that cannot reach the DCS
/// demotes its primary — early enough that its next cycle still comes before the fence.
/// </summary>
public static class LeaseTiming
{
    /// <summary>The longest one DCS call may take before it counts as failed.</summary>
    public static readonly TimeSpan DcsCallTimeout = TimeSpan.FromSeconds(DcsConfigRules.DcsCallTimeoutSeconds);

    /// <summary>How long before the lease can expire the fence watchdog kills PostgreSQL: max(1 s, ttl/10).</summary>
    public static TimeSpan FenceMargin(TimeSpan ttl) => TimeSpan.FromSeconds(Math.Max(1, ttl.TotalSeconds * 0.1));

    /// <summary>
    /// A primary that cannot reach the DCS demotes itself once no more than this is left of its lease:
    /// 35 % of the TTL, but at least the fence margin plus one loop and one DCS call at its timeout — so
    /// the demotion (a clean restart read-only that keeps serving reads) comes before the watchdog's kill.
    /// </summary>
    public static TimeSpan DemoteMargin(TimeSpan ttl, TimeSpan loopWait)
    {
        var cycle = FenceMargin(ttl) + loopWait + DcsCallTimeout;
        var fraction = ttl * HaDecider.DemoteMarginFraction;
        return fraction > cycle ? fraction : cycle;
    }
}
