namespace PgWarden.Agent;

/// <summary>What a requested reload did: null <paramref name="Error"/> when PostgreSQL confirmed it; then the parameters waiting for a restart and the configuration lines it rejected.</summary>
public sealed record ReloadOutcome(string? Error, IReadOnlyList<string> PendingRestart, IReadOnlyList<string> ConfigErrors)
{
    public static ReloadOutcome Failed(string why) => new(why, [], []);
}
