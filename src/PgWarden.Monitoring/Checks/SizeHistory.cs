using System.Globalization;

namespace PgWarden.Monitoring.Checks;

/// <summary>Database size samples (one line per check run: ISO time, bytes) and the growth rate they show.</summary>
public static class SizeHistory
{
    public static void Append(string file, DateTimeOffset at, long bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.AppendAllText(file, $"{at.UtcDateTime:O} {bytes}\n");
    }

    public static IReadOnlyList<(DateTimeOffset At, long Bytes)> Read(string file) =>
        !File.Exists(file) ? [] : File.ReadLines(file)
            .Select(l => l.Split(' '))
            .Where(p => p.Length == 2 && DateTimeOffset.TryParse(p[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _) && long.TryParse(p[1], out _))
            .Select(p => (DateTimeOffset.Parse(p[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal), long.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToList();

    /// <summary>
    /// Bytes per day by least squares over the samples of the last <paramref name="window"/>; null
    /// with fewer than two samples at least an hour apart.
    /// </summary>
    public static double? GrowthPerDay(IReadOnlyList<(DateTimeOffset At, long Bytes)> samples, DateTimeOffset now, TimeSpan window)
    {
        var recent = samples.Where(s => s.At >= now - window).ToList();
        if (recent.Count < 2 || (recent.Max(s => s.At) - recent.Min(s => s.At)) < TimeSpan.FromHours(1))
        {
            return null;
        }
        var t0 = recent[0].At;
        var xs = recent.Select(s => (s.At - t0).TotalDays).ToList();
        var ys = recent.Select(s => (double)s.Bytes).ToList();
        var mx = xs.Average();
        var my = ys.Average();
        var sxx = xs.Sum(x => (x - mx) * (x - mx));
        return sxx == 0 ? null : xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my)) / sxx;
    }
}
