using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Security;

namespace PgWarden.Agent;

/// <summary>Runs `pgwarden agent`: the node's supervisor plus its HTTP API, until SIGTERM/SIGINT.</summary>
public static class AgentHost
{
    public static async Task<int> RunAsync(ClusterConfig cluster, string nodeName, CancellationToken ct)
    {
        var node = cluster.Node(nodeName);
        var secrets = ClusterSecrets.Load(cluster.SecretsFile);
        await using var context = new AgentContext(cluster, node, secrets);
        context.Binaries.EnsureInstalled();

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://{node.Address}:{node.ApiPort}");
        ConfigureLogging(builder.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(90));
        builder.Services.AddSingleton(context);
        builder.Services.AddSingleton(new NodeState(node.Name));
        builder.Services.AddHostedService<NodeAgent>();

        var app = builder.Build();
        var state = app.Services.GetRequiredService<NodeState>();
        app.MapGet("/health", () =>
        {
            var s = state.Current;
            return Results.Json(new { node = s.Name, role = s.Role, state = s.State, postgres_running = s.PostgresRunning },
                Json.Options, statusCode: s.PostgresRunning ? 200 : 503);
        });
        app.MapGet("/node", () => Results.Json(state.Current, Json.Options));

        using var pid = new PidFile(Path.Combine(node.HomeDir(cluster), "agent.pid"));
        await app.RunAsync(ct);
        return Environment.ExitCode;
    }

    public static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("System.Net.Http", LogLevel.Warning);
    }
}
