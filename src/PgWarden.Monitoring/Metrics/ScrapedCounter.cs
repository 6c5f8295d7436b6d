using Prometheus;

namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// A PostgreSQL cumulative statistic (commits, blocks read, archived WAL files, …) exported as a Prometheus
/// counter (<c># TYPE … counter</c>, name ending in <c>_total</c>) and refilled at every scrape with
/// PostgreSQL's own value. When PostgreSQL's value goes down (a statistics reset, a restarted server) the
/// series is dropped and recreated at the new value, so <c>rate()</c> sees a counter reset instead of a
/// counter stuck at its old high value. Label sets not seen in the latest scrape are removed.
/// </summary>
public sealed class ScrapedCounter(Counter counter) : IScrapedFamily
{
    private readonly HashSet<string> _seen = [];
    private readonly Dictionary<string, (string[] Labels, double Value)> _published = [];

    /// <param name="value">PostgreSQL's cumulative value (never negative).</param>
    public void Set(double value, params string[] labels)
    {
        var key = string.Join('\u001f', labels);
        _seen.Add(key);
        if (_published.TryGetValue(key, out var old) && value < old.Value)
        {
            counter.RemoveLabelled(labels);
        }
        _published[key] = (labels, value);
        counter.WithLabels(labels).IncTo(value);
    }

    /// <summary>Removes every series not set since the previous call.</summary>
    public void Sweep()
    {
        foreach (var key in _published.Keys.Where(k => !_seen.Contains(k)).ToList())
        {
            counter.RemoveLabelled(_published[key].Labels);
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
