using PgWarden.Core.Config;
using PgWarden.Core.Security;
using PgWarden.Core.Tls;
using PgWarden.Pooler;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.IntegrationTests;

/// <summary>
/// A PgBouncer host has no admin client certificate (`secrets export --role pooler` must not hand out what
/// opens the agents' API). With <c>pooler_client_sslmode: verify-full</c> its own pooler reached the admin
/// console over TCP, where PgBouncer demands a client certificate, and could not PAUSE, RELOAD or RESUME
/// it (hostile review 17). Over PgBouncer's Unix socket TLS is not asked for. A real PgBouncer 1.18 run by
/// <see cref="PgBouncerInstance"/> from the rendered configuration; loopback 127.0.241.0/24.
/// </summary>
public sealed class PoolerAdminSocketTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-admin-socket-").FullName;
    private PgBouncerInstance? _pgbouncer;

    public async ValueTask DisposeAsync()
    {
        if (_pgbouncer is not null)
        {
            await _pgbouncer.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task APgBouncerHostWithoutTheAdminCertificateRunsItsAdminCommandsOverTheSocket()
    {
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        var cluster = ConfigLoader.Parse("""
            cluster: adminsocket
            nodes:
              - { name: pg1, address: 127.0.241.10, port: 5532, api_port: 8008 }
            poolers:
              - { name: pgb1, address: 127.0.241.1, port: 6432 }
            tls: { pooler_client_sslmode: verify-full }
            """, "cluster.yaml", _dir);
        var serverUser = OsUser.ServerUser(cluster.Postgres.OsUser);
        ClusterCertificates.EnsureGenerated(cluster, (serverUser.Uid, serverUser.Gid), DateTimeOffset.UtcNow);
        // What a PgBouncer host has: no admin certificate.
        File.Delete(cluster.Tls.AdminCertFile!);
        File.Delete(cluster.Tls.AdminKeyFile!);
        var secrets = ClusterSecrets.Generate();
        var launcher = new ProcessLauncher(serverUser);
        _pgbouncer = new PgBouncerInstance(cluster, cluster.Poolers[0], launcher);
        _pgbouncer.Prepare(secrets);
        _pgbouncer.Apply(cluster.Node("pg1"), []);
        var admin = new PgBouncerAdmin(cluster, secrets, new ToolRunner(new ProcessLauncher(OsUser.Current())));
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!File.Exists(Path.Combine(cluster.Poolers[0].HomeDir(cluster), "run", ".s.PGSQL.6432")) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await admin.RunAsync(cluster.Poolers[0], $"PAUSE {cluster.Database.Name}", TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(await admin.IsPausedAsync(cluster.Poolers[0], cluster.Database.Name, CancellationToken.None));
        await admin.ReloadAndResumeAsync(cluster.Poolers[0], cluster.Database.Name, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.False(await admin.IsPausedAsync(cluster.Poolers[0], cluster.Database.Name, CancellationToken.None));
    }
}
