namespace PgWarden.Core.Tuning;

/// <summary>One computed PostgreSQL setting with the formula that produced it.</summary>
public sealed record TunedParameter(string Name, string Value, string Why);
