namespace PgWarden.Core.Tuning;

/// <summary>What the tuning formulas are computed from.</summary>
public sealed record HardwareProfile(long RamBytes, int Cpus, StorageKind Storage, int MaxConnections);
