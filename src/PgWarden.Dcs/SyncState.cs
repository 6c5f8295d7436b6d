namespace PgWarden.Dcs;

/// <summary>The value of the <c>sync</c> key: which standby the leader made synchronous (null: none).</summary>
internal sealed record SyncState(string Leader, string? Standby);
