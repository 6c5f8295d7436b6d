namespace PgWarden.Backup.Verify;

/// <summary>How to verify: with or without a restore test, where to unpack, how long recovery may take, pg_restore jobs.</summary>
public sealed record VerifyOptions(bool RestoreTest, string ScratchParent, TimeSpan RecoveryTimeout, int Jobs);
