using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PgWarden.Core.Config;
using PgWarden.Core.Security;
using PgWarden.Dcs;
using PgWarden.Pooler;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Agent;

/// <summary>Runs `pgwarden pooler`: one PgBouncer and the process that steers it.</summary>
public static class PoolerHost
{
    public static async Task<int> RunAsync(ClusterConfig cluster, string poolerName, CancellationToken ct)
    {
        var pooler = cluster.Pooler(poolerName);
        using var pid = PidFile.Acquire(Path.Combine(pooler.HomeDir(cluster), "pooler.pid"), $"pooler {pooler.Name}");
        PgBouncerInstance.EnsureInstalled();
        var secrets = ClusterSecrets.Load(cluster.SecretsFile);
        Core.Tls.ClusterCertificates.RequireHostFiles(cluster, pooler.Name);
        var launcher = new ProcessLauncher(OsUser.ServerUser(cluster.Postgres.OsUser));
        var bouncer = new PgBouncerInstance(cluster, pooler, launcher);

        // The pooler only reads the DCS: it logs in as the read-only etcd user.
        await using var dcs = new EtcdDcs(cluster.Name, cluster.Dcs.Endpoints, localAddress: pooler.Address,
            credentials: DcsCredentialsSource.Resolve(cluster, secrets, readOnly: true), tls: cluster.Dcs.ClientTls(pooler.Name));
        var builder = Host.CreateApplicationBuilder();
        AgentHost.ConfigureLogging(builder.Logging);
        builder.Services.AddSingleton(cluster);
        builder.Services.AddSingleton(bouncer);
        builder.Services.AddSingleton(secrets);
        builder.Services.AddSingleton<Core.Dcs.IDcs>(dcs);
        builder.Services.AddSingleton(new PgBouncerAdmin(cluster, secrets, new ToolRunner(launcher)));
        builder.Services.AddHostedService<PoolerService>();
        using var host = builder.Build();
        await host.RunAsync(ct);
        return Environment.ExitCode;
    }
}
