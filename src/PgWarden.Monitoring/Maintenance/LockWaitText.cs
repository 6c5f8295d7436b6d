using System.Globalization;
using System.Text.RegularExpressions;

namespace PgWarden.Monitoring.Maintenance;

/// <summary>One line saying what a waiting statement waits for, from <see cref="LockBlocker"/>s.</summary>
public static partial class LockWaitText
{
    /// <summary>Longest statement text shown, in characters (the rest becomes "…").</summary>
    public const int QueryLength = 120;

    /// <summary>
    /// "REINDEX … has waited 12 s for ShareUpdateExclusiveLock on public.books, held by PID 1234 (app, idle in transaction
    /// for 40 s, holds ShareLock): LOCK TABLE books IN SHARE MODE" — several blockers are joined with "; ".
    /// </summary>
    /// <param name="waiter">The statement that waits, as the user knows it.</param>
    /// <param name="waited">How long it has waited so far.</param>
    public static string Describe(string waiter, TimeSpan waited, IReadOnlyList<LockBlocker> blockers)
    {
        var seconds = waited.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
        if (blockers.Count == 0)
        {
            return $"{waiter}: running for {seconds} s, not waiting for a lock";
        }
        var first = blockers[0];
        var what = first.WaitedMode is null ? "a lock" : $"{first.WaitedMode}{(first.LockedObject is null ? "" : $" on {first.LockedObject}")}";
        var holders = string.Join("; ", blockers.Select(Holder));
        return $"{waiter} has waited {seconds} s for {what}, held by {holders}";
    }

    private static string Holder(LockBlocker b)
    {
        var facts = new List<string>();
        if (b.User is { } user)
        {
            facts.Add(user);
        }
        if (b.State is { } state)
        {
            facts.Add(b.TransactionAgeSeconds is { } age ? $"{state} for {age.ToString("0", CultureInfo.InvariantCulture)} s" : state);
        }
        if (b.HeldModes is { } held)
        {
            facts.Add($"holds {held}");
        }
        var query = Shorten(b.Query);
        return $"PID {b.Pid.ToString(CultureInfo.InvariantCulture)}{(facts.Count > 0 ? $" ({string.Join(", ", facts)})" : "")}{(query is null ? "" : $": {query}")}";
    }

    /// <summary>The statement on one line (runs of whitespace become one space), at most <see cref="QueryLength"/> characters.</summary>
    public static string? Shorten(string? query)
    {
        if (string.IsNullOrWhiteSpace(query))
        {
            return null;
        }
        var line = Whitespace().Replace(query.Trim(), " ");
        return line.Length <= QueryLength ? line : line[..(QueryLength - 1)] + "…";
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
