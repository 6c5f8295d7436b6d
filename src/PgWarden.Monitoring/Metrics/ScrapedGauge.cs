using Prometheus;

namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// A labelled gauge refilled at every scrape: label sets not seen in the latest scrape (a dropped
/// table, a gone replica) are removed instead of lingering with stale values.
/// </summary>
public sealed class ScrapedGauge(Gauge gauge) : IScrapedFamily
{
    private readonly HashSet<string> _seen = [];
    private readonly Dictionary<string, string[]> _published = [];

    public void Set(double value, params string[] labels)
    {
        var key = string.Join('\u001f', labels);
        _seen.Add(key);
        _published[key] = labels;
        gauge.WithLabels(labels).Set(value);
    }

    /// <summary>Removes every series not set since the previous call.</summary>
    public void Sweep()
    {
        foreach (var key in _published.Keys.Where(k => !_seen.Contains(k)).ToList())
        {
            gauge.RemoveLabelled(_published[key]);
            _published.Remove(key);
        }
        _seen.Clear();
    }

    /// <summary>Drops every series (PostgreSQL is down: no value is better than a stale one).</summary>
    public void Clear()
    {
        _seen.Clear();
        Sweep();
    }
}
