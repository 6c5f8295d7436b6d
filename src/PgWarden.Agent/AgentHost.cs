using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Security;
using PgWarden.Dcs;
using PgWarden.Agent.Ha;
using PgWarden.Agent.Postgres;
using PgWarden.Agent.Watchdog;
using PgWarden.Monitoring.Metrics;

namespace PgWarden.Agent;

/// <summary>Runs `pgwarden agent`: the node's supervisor plus its HTTP API, until SIGTERM/SIGINT.</summary>
public static class AgentHost
{
    public static async Task<int> RunAsync(ClusterConfig cluster, string nodeName, CancellationToken ct)
    {
        var node = cluster.Node(nodeName);
        // One agent per node: the lock comes before anything is touched.
        using var pid = PidFile.Acquire(Path.Combine(node.HomeDir(cluster), "agent.pid"), $"the agent of node {node.Name}");
        var secrets = ClusterSecrets.Load(cluster.SecretsFile);
        Core.Tls.ClusterCertificates.RequireHostFiles(cluster, node.Name);
        await using var dcs = new EtcdDcs(cluster.Name, cluster.Dcs.Endpoints, localAddress: node.Address,
            credentials: DcsCredentialsSource.Resolve(cluster, secrets, readOnly: false), tls: cluster.Dcs.ClientTls(node.Name));
        await using var context = new AgentContext(cluster, node, secrets, dcs);
        context.Binaries.EnsureInstalled();

        var builder = WebApplication.CreateSlimBuilder();
        ApiEndpoint.Configure(builder, cluster, node);
        ConfigureLogging(builder.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(90));
        // Request bodies in the API's own spelling (snake_case), as its answers are.
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = Json.Options.PropertyNamingPolicy;
            o.SerializerOptions.PropertyNameCaseInsensitive = true;
            foreach (var converter in Json.Options.Converters)
            {
                o.SerializerOptions.Converters.Add(converter);
            }
        });
        builder.Services.AddSingleton(context);
        var state = new NodeState(node.Name);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry, state);
        var events = new LoggingAgentEvents(node.Name, LoggerFactory.Create(ConfigureLogging).CreateLogger("PgWarden.Agent.NodeAgent"), metrics);
        // Taken from the environment before any child starts (the fence watchdog, PostgreSQL, PgBouncer).
        using var systemd = SystemdNotifier.FromEnvironment();
        await using var watchdog = WatchdogProcess.Start(node.Name, cluster.ConfigFile, events.Info, events.Failed);
        var backstop = new SystemdBackstop(watchdog, systemd);
        var agent = new NodeAgent(cluster, node, dcs, new LocalPostgresNode(context), new PeerNodes(cluster, secrets), backstop, TimeProvider.System, state, events);
        builder.Services.AddSingleton(systemd);
        builder.Services.AddSingleton(backstop);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton(agent);
        builder.Services.AddHostedService<NodeAgentService>();
        builder.Services.AddSingleton(registry);
        builder.Services.AddHostedService<ScheduledDailyCheck>();
        builder.Services.AddHostedService<ScheduledBackups>();
        await using var collector = new PostgresMetricsCollector(context.Postgres.LocalConnectionString(cluster.Database.Name), registry);

        var app = builder.Build();
        ApiEndpoint.UseAllowlist(app, cluster);
        AgentApi.Map(app, state, context);
        app.MapGet("/metrics", async (HttpContext http) =>
        {
            // Collected on request, on its own connection pool and with a deadline: a slow or
            // stopped PostgreSQL gives pg_up 0 quickly and never blocks the supervision loop.
            http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await registry.CollectAndExportAsTextAsync(http.Response.Body, http.RequestAborted);
        });

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
