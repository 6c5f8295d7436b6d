using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Install;
using PgWarden.Core.Security;
using PgWarden.Dcs;

namespace PgWarden.Agent;

/// <summary>
/// `pgwarden dcs-server`: the embedded single-member etcd of a demo or test cluster, until SIGTERM.
/// An etcd that exits on its own is started again (after 1 s, doubling up to 30 s while it keeps
/// failing), as a service manager would: the agents fence and wait meanwhile. Every start switches
/// etcd authentication on (<see cref="EtcdAuthSetup"/>, idempotent) with the passwords of the
/// secrets file (a full one, or the etcd host's export), before it reports etcd as running.
/// </summary>
public static class DcsServerHost
{
    public static async Task<int> RunAsync(ClusterConfig cluster, CancellationToken ct)
    {
        if (!cluster.Dcs.Embedded)
        {
            throw new PgWardenException(ExitCodes.ConfigError, $"cluster {cluster.Name} uses an external etcd ({string.Join(", ", cluster.Dcs.Endpoints)}); there is no embedded DCS server to run");
        }
        using var pid = PidFile.Acquire(Path.Combine(cluster.BaseDir, "etcd.pid"), $"the embedded etcd of cluster {cluster.Name}");
        // Under the unit `install --role etcd` writes (user etcd), the secrets file and the TLS key come as
        // systemd credentials: they stay owned by the cluster's OS user, 0600.
        var secrets = ClusterSecrets.Load(SystemdCredentials.PathOr(SystemdCredentials.Secrets, cluster.SecretsFile));
        if (!secrets.HasEtcdPasswords)
        {
            throw new PgWardenException(ExitCodes.ConfigError,
                $"secrets file {cluster.SecretsFile} has no etcd passwords (etcd_root_password, etcd_agent_password, etcd_pooler_password): run `pgwarden up` once, which adds them, or give this host the file of `pgwarden secrets export --role etcd`");
        }
        // It serves the first node's certificate: one the clients (dcs.ca_file) do not trust is one line here, not an etcd nobody can reach.
        PgWarden.Core.Tls.EtcdMemberCertificate.Check(cluster, cluster.Nodes[0].Name, requireFiles: false);
        var passwords = new EtcdAuthSetup.Passwords(secrets.EtcdRootPassword!, secrets.EtcdAgentPassword!, secrets.EtcdPoolerPassword!);
        var dataDir = cluster.Dcs.EmbeddedDataDir(cluster);
        var backoff = TimeSpan.FromSeconds(1);
        while (true)
        {
            await using var server = await EtcdServer.StartAsync(cluster.Name, cluster.Dcs.Endpoints[0], cluster.Dcs.EmbeddedPeerUrl!, dataDir, TimeSpan.FromSeconds(30), ct,
                tls: ServerTls(cluster));
            await EnableAuthAsync(server, cluster, passwords, ct);
            Console.WriteLine($"etcd {cluster.Dcs.Endpoints[0]} running (PID {server.Pid}, data {dataDir})");
            var started = DateTime.UtcNow;
            try
            {
                await Task.WhenAny(server.Exited, Task.Delay(Timeout.Infinite, ct));
            }
            catch (OperationCanceledException)
            {
            }
            if (!server.HasExited)
            {
                await server.StopAsync(TimeSpan.FromSeconds(10));
                return 0;
            }
            backoff = DateTime.UtcNow - started > TimeSpan.FromMinutes(1) ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Min(30, backoff.TotalSeconds * 2));
            Console.Error.WriteLine($"pgwarden dcs-server: etcd exited unexpectedly (see {server.LogFile}); starting it again in {backoff.TotalSeconds:0} s");
            await Task.Delay(backoff, ct);
        }
    }

    /// <summary>
    /// The embedded etcd serves TLS with the certificate of the first node, on whose address it
    /// listens (that certificate names the address), when the cluster's TLS is on; null for http.
    /// </summary>
    private static EtcdServerTls? ServerTls(ClusterConfig cluster) =>
        cluster.Dcs.Tls is null ? null
            : new EtcdServerTls(cluster.Tls.CertFile(cluster.Nodes[0].Name),
                SystemdCredentials.PathOr(SystemdCredentials.EtcdKey, cluster.Tls.KeyFile(cluster.Nodes[0].Name)), cluster.Tls.CaFile);

    /// <summary>
    /// Switches authentication on, trying again every second while etcd runs and refuses or does not
    /// answer: etcd stays up meanwhile (an etcd that had it on keeps it on: it is stored in its data).
    /// </summary>
    private static async Task EnableAuthAsync(EtcdServer server, ClusterConfig cluster, EtcdAuthSetup.Passwords passwords, CancellationToken ct)
    {
        while (!server.HasExited)
        {
            try
            {
                await EtcdAuthSetup.EnableAsync(cluster.Dcs.Endpoints[0], cluster.Name, passwords, TimeSpan.FromSeconds(5), ct, cluster.Dcs.ClientTls(null));
                return;
            }
            catch (Core.Dcs.DcsUnavailableException e)
            {
                Console.Error.WriteLine($"pgwarden dcs-server: could not switch etcd authentication on yet ({e.Message}); trying again in 1 s");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }
}
