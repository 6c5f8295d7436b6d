namespace PgWarden.Monitoring.Metrics;

/// <summary>A labelled metric family refilled at every scrape (<see cref="ScrapedGauge"/>, <see cref="ScrapedCounter"/>).</summary>
public interface IScrapedFamily
{
    /// <summary>Removes every series not set since the previous call.</summary>
    void Sweep();

    /// <summary>Drops every series.</summary>
    void Clear();
}
