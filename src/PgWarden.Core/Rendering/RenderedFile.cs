namespace PgWarden.Core.Rendering;

/// <summary>One configuration file PgWarden writes: its name inside the node's data directory (or the pooler's home) and its content.</summary>
public sealed record RenderedFile(string Name, string Content);
