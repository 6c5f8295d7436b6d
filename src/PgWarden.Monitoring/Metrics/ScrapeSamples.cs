using Prometheus;

namespace PgWarden.Monitoring.Metrics;

/// <summary>
/// The values one scrape read from PostgreSQL, applied to the gauges only once the whole scrape
/// finished within its deadline: a scrape abandoned at the deadline (a frozen server) can never
/// publish late, half-read or stale values.
/// </summary>
public sealed class ScrapeSamples
{
    private readonly List<(Gauge Gauge, double Value)> _plain = new(16);
    private readonly List<(ScrapedGauge Gauge, double Value, string[] Labels)> _labelled = new(256);
    private readonly List<(ScrapedCounter Counter, double Value, string[] Labels)> _counters = new(64);

    public void Set(Gauge gauge, double value) => _plain.Add((gauge, value));

    public void Set(ScrapedGauge gauge, double value, params string[] labels) => _labelled.Add((gauge, value, labels));

    public void Set(ScrapedCounter counter, double value, params string[] labels) => _counters.Add((counter, value, labels));

    /// <summary>Sets every gauge. Not thread-safe: one scrape applies at a time.</summary>
    public void Apply()
    {
        foreach (var (gauge, value) in _plain)
        {
            gauge.Set(value);
        }
        foreach (var (gauge, value, labels) in _labelled)
        {
            gauge.Set(value, labels);
        }
        foreach (var (counter, value, labels) in _counters)
        {
            counter.Set(value, labels);
        }
    }
}
