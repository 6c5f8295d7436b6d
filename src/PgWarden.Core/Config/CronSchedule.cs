using Cronos;

namespace PgWarden.Core.Config;

/// <summary>
/// Cron expressions of the backup schedules: the usual five fields (minute hour day month weekday),
/// or six with seconds first (for tests and short intervals), or "off".
/// </summary>
public static class CronSchedule
{
    public const string Off = "off";

    /// <summary>Parses <paramref name="text"/>; throws <see cref="CronFormatException"/> when it is not a cron expression.</summary>
    public static CronExpression Parse(string text)
    {
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        return CronExpression.Parse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
    }
}
