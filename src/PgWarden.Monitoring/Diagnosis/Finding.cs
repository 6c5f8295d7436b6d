namespace PgWarden.Monitoring.Diagnosis;

/// <summary>One observation of a diagnosis and, when there is one, what to do about it.</summary>
public sealed record Finding(string Subject, string Observation, string? Suggestion);
