namespace PgWarden.Core.Errors;

/// <summary>A configuration error: names the file, the key path and what is wrong.</summary>
public sealed class ConfigException(string message) : PgWardenException(ExitCodes.ConfigError, message);
