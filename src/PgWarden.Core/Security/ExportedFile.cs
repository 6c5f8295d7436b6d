namespace PgWarden.Core.Security;

/// <summary>
/// One file `secrets export` wrote: <paramref name="Path"/> in the export directory, and — when the
/// configuration names it outside its own directory (an absolute <c>backup.encryption.key_file</c>
/// elsewhere) — <paramref name="PlaceAt"/>, the path it must be put at on the host; null when copying
/// the directory as a whole next to cluster.yaml puts it where the configuration looks.
/// </summary>
public sealed record ExportedFile(string Path, string? PlaceAt);
