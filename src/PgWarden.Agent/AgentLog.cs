using Microsoft.Extensions.Logging;

namespace PgWarden.Agent;

internal static partial class AgentLog
{
    [LoggerMessage(1, LogLevel.Information, "node {Node}: {Reason}")]
    public static partial void Decided(ILogger logger, string node, string reason);

    [LoggerMessage(2, LogLevel.Information, "node {Node}: PostgreSQL started (PID {Pid}) as {Role}")]
    public static partial void Started(ILogger logger, string node, int pid, string role);

    [LoggerMessage(3, LogLevel.Warning, "node {Node}: PostgreSQL exited unexpectedly (exit code {Code}); restarting in {Delay} s")]
    public static partial void Crashed(ILogger logger, string node, int? code, double delay);

    [LoggerMessage(4, LogLevel.Information, "node {Node}: stopping PostgreSQL (fast shutdown)")]
    public static partial void Stopping(ILogger logger, string node);

    [LoggerMessage(5, LogLevel.Error, "node {Node}: {Message}")]
    public static partial void Failed(ILogger logger, string node, string message);

    [LoggerMessage(8, LogLevel.Information, "node {Node}: {Message}")]
    public static partial void Info(ILogger logger, string node, string message);

    [LoggerMessage(6, LogLevel.Information, "pooler {Pooler}: routes changed: {Db} -> {Primary}, read-only -> {Replicas}")]
    public static partial void Routed(ILogger logger, string pooler, string db, string primary, string replicas);

    [LoggerMessage(9, LogLevel.Information, "pooler {Pooler}: {Message}")]
    public static partial void PoolerInfo(ILogger logger, string pooler, string message);

    [LoggerMessage(7, LogLevel.Warning, "pooler {Pooler}: {Message}")]
    public static partial void PoolerWarning(ILogger logger, string pooler, string message);
}
