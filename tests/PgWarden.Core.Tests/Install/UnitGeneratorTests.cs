using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Install;
using PgWarden.Core.Security;

namespace PgWarden.Core.Tests.Install;

public sealed class UnitGeneratorTests
{
    private const string Program = "/opt/pgwarden/current/pgwarden";

    private static string Yaml(string dcs = "", string nodeExtra = "") => $$"""
        cluster: prod
        nodes:
          - { name: pg1, address: 10.20.0.11, port: 5432, api_port: 8008, data_dir: /var/lib/postgresql/15/pg1{{nodeExtra}} }
          - { name: pg2, address: 10.20.0.12, port: 5432, api_port: 8008, data_dir: /var/lib/postgresql/15/pg2 }
          - { name: pg3, address: 10.20.0.13, port: 5432, api_port: 8008, data_dir: /var/lib/postgresql/15/pg3 }
        poolers:
          - { name: pgb1, address: 10.20.0.11, port: 6432 }
        dcs:
          embedded: false
          endpoints: [http://10.20.0.11:2379, http://10.20.0.12:2379, http://10.20.0.13:2379]
        {{dcs}}
        """;

    private static ClusterConfig Cluster(string yaml, string baseDir = "/etc/pgwarden") =>
        ConfigLoader.Parse(yaml, Path.Combine(baseDir, "cluster.yaml"), baseDir);

    private static IReadOnlyList<InstallFile> Files(ClusterConfig cluster, InstallRole role, string name, params string[] program) =>
        UnitGenerator.Generate(new InstallRequest(cluster, role, name, program.Length > 0 ? program : [Program]));

    private static InstallFile Of(IReadOnlyList<InstallFile> files, InstallFileKind kind) => Assert.Single(files, f => f.Kind == kind);

    private static UnitText UnitOf(IReadOnlyList<InstallFile> files) => new(Of(files, InstallFileKind.Unit).Content);

    [Fact]
    public void TheAgentUnitHasEveryKeyTheFencingDesignNeeds()
    {
        var files = Files(Cluster(Yaml()), InstallRole.Node, "pg1");
        var unitFile = Of(files, InstallFileKind.Unit);
        Assert.Equal("pgwarden-agent-pg1.service", unitFile.FileName);
        Assert.Equal("/etc/systemd/system/pgwarden-agent-pg1.service", unitFile.InstallPath);
        var unit = new UnitText(unitFile.Content);
        Assert.Equal("network-online.target", unit.One("Unit", "Wants"));
        Assert.Equal("network-online.target", unit.One("Unit", "After"));
        Assert.Equal("notify", unit.One("Service", "Type"));
        Assert.Equal("main", unit.One("Service", "NotifyAccess"));
        Assert.Equal("postgres", unit.One("Service", "User"));
        Assert.Equal("postgres", unit.One("Service", "Group"));
        Assert.Equal($"{Program} agent --config /etc/pgwarden/cluster.yaml --node pg1", unit.One("Service", "ExecStart"));
        Assert.Equal("mixed", unit.One("Service", "KillMode"));
        Assert.Equal("on-failure", unit.One("Service", "Restart"));
        Assert.Equal("6", unit.One("Service", "RestartSec"));
        Assert.Equal("3", unit.One("Service", "WatchdogSec"));
        Assert.Equal("SIGKILL", unit.One("Service", "WatchdogSignal"));
        Assert.Equal("180", unit.One("Service", "TimeoutStopSec"));
        Assert.Equal("2 3 4 6 7 11", unit.One("Service", "RestartPreventExitStatus"));
        Assert.Equal("65536", unit.One("Service", "LimitNOFILE"));
        Assert.Equal("yes", unit.One("Service", "NoNewPrivileges"));
        Assert.Equal("full", unit.One("Service", "ProtectSystem"));
        Assert.Equal("yes", unit.One("Service", "PrivateTmp"));
        Assert.Equal("/etc/pgwarden", unit.One("Service", "ReadWritePaths"));
        Assert.Equal("journal", unit.One("Service", "StandardOutput"));
        Assert.Equal("journal", unit.One("Service", "StandardError"));
        Assert.Equal("multi-user.target", unit.One("Install", "WantedBy"));
        // The choice is explained where the operator reads it.
        Assert.Contains("restarting the agent DOES restart this node's PostgreSQL", unitFile.Content);
    }

    [Fact]
    public void TheServerUserIsTheConfiguredOne()
    {
        var cluster = Cluster("postgres: { os_user: pgsrv }\n" + Yaml());
        Assert.Equal("pgsrv", UnitOf(Files(cluster, InstallRole.Node, "pg2")).One("Service", "User"));
        Assert.Equal("pgsrv", UnitOf(Files(cluster, InstallRole.Pooler, "pgb1")).One("Service", "User"));
    }

    [Theory]
    [InlineData(5, 3, 6)]
    [InlineData(10, 8, 11)]
    [InlineData(30, 26, 31)]
    public void TimingsFollowTheLeaseTtl(int ttl, int watchdog, int restart)
    {
        var unit = UnitOf(Files(Cluster(Yaml($"  ttl: {ttl}")), InstallRole.Node, "pg1"));
        Assert.Equal(watchdog.ToString(), unit.One("Service", "WatchdogSec"));
        Assert.Equal(restart.ToString(), unit.One("Service", "RestartSec"));
    }

    [Fact]
    public void TheWatchdogFiresBeforeTheFenceDeadlineAndNeverOnAHealthyCycle()
    {
        var checkedPairs = 0;
        for (var ttl = 2; ttl <= 300; ttl++)
        {
            var watchdog = TimeSpan.FromSeconds(ServiceTiming.WatchdogSeconds(ttl));
            var ttlSpan = TimeSpan.FromSeconds(ttl);
            for (var loop = 1; loop <= 60; loop++)
            {
                if (Dcs.DcsConfigRules.WhyLoopTooSlow(ttl, loop) is not null)
                {
                    continue;
                }
                checkedPairs++;
                // Before the fence watchdog's own deadline (and so before the lease can expire)…
                Assert.True(watchdog < ttlSpan - Ha.LeaseTiming.FenceMargin(ttlSpan), $"ttl {ttl}: WatchdogSec {watchdog.TotalSeconds}");
                // …and longer than a loop plus one DCS call at its timeout, so a healthy agent never trips it.
                Assert.True(watchdog >= TimeSpan.FromSeconds(loop) + Ha.LeaseTiming.DcsCallTimeout, $"ttl {ttl}, loop_wait {loop}: WatchdogSec {watchdog.TotalSeconds}");
                Assert.True(ServiceTiming.RestartSeconds(ttl) > ttl);
            }
        }
        Assert.True(checkedPairs > 100, $"only {checkedPairs} valid ttl/loop_wait pairs checked");
    }

    [Fact]
    public void NoFileCarriesASecret()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"pgwarden-install-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var secrets = ClusterSecrets.Generate();
            secrets.Save(Path.Combine(dir, "secrets.yaml"));
            var cluster = Cluster(Yaml(), dir);
            var all = new[] { (InstallRole.Node, "pg1"), (InstallRole.Pooler, "pgb1"), (InstallRole.Etcd, "pg2") }
                .SelectMany(x => Files(cluster, x.Item1, x.Item2)).ToList();
            foreach (var f in all)
            {
                foreach (var secret in new[] { secrets.SuperuserPassword, secrets.ReplicationPassword, secrets.AppPassword, secrets.PoolerAdminPassword, secrets.ApiToken })
                {
                    Assert.DoesNotContain(secret, f.Content);
                }
            }
            foreach (var unit in all.Where(f => f.Kind == InstallFileKind.Unit).Select(f => new UnitText(f.Content)))
            {
                var exec = unit.One("Service", "ExecStart");
                foreach (var word in new[] { "password", "token", "secret" })
                {
                    Assert.DoesNotContain(word, exec, StringComparison.OrdinalIgnoreCase);
                }
                Assert.All(unit.All("Service", "Environment"), e => Assert.DoesNotContain("PASSWORD", e, StringComparison.OrdinalIgnoreCase));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PathsWithSpacesAndSpecifiersAreQuoted()
    {
        var cluster = Cluster(Yaml(nodeExtra: " 50%"), "/srv/pg warden/prod");
        var files = Files(cluster, InstallRole.Node, "pg1", "/opt/pg warden/pgwarden");
        var unit = UnitOf(files);
        Assert.Equal("\"/opt/pg warden/pgwarden\" agent --config \"/srv/pg warden/prod/cluster.yaml\" --node pg1", unit.One("Service", "ExecStart"));
        Assert.Equal("\"/srv/pg warden/prod\"", unit.One("Service", "ReadWritePaths"));
        var tmpfiles = Of(files, InstallFileKind.TmpFiles).Content;
        Assert.Contains("d \"/srv/pg warden/prod/nodes/pg1\" 0700 postgres postgres -", tmpfiles);
        Assert.Contains("e \"/var/lib/postgresql/15/pg1 50%%/log\" - - - 30d", tmpfiles);
        Assert.Contains("\"/srv/pg warden/prod/nodes/pg1/postgres.log\" \"/srv/pg warden/prod/logs/backup-*-pg1.log\" {", Of(files, InstallFileKind.Logrotate).Content);
    }

    [Fact]
    public void AWritableDataDirectoryUnderAProtectedTreeIsListed()
    {
        var cluster = Cluster(Yaml().Replace("data_dir: /var/lib/postgresql/15/pg2 }", "data_dir: /etc/pgdata }"));
        // pg1's data directory stays under /var; pg2's is under /etc, which ProtectSystem=full makes read-only.
        Assert.Equal("/etc/pgwarden", UnitOf(Files(cluster, InstallRole.Node, "pg1")).One("Service", "ReadWritePaths"));
        Assert.Equal("/etc/pgwarden -/etc/pgdata", UnitOf(Files(cluster, InstallRole.Node, "pg2")).One("Service", "ReadWritePaths"));
    }

    [Fact]
    public void ThePoolerUnitRunsThePoolerAsTheServerUser()
    {
        var files = Files(Cluster(Yaml()), InstallRole.Pooler, "pgb1");
        var unit = UnitOf(files);
        Assert.Equal("pgwarden-pooler-pgb1.service", Of(files, InstallFileKind.Unit).FileName);
        Assert.Equal($"{Program} pooler --config /etc/pgwarden/cluster.yaml --name pgb1", unit.One("Service", "ExecStart"));
        Assert.Equal("postgres", unit.One("Service", "User"));
        Assert.Equal("exec", unit.One("Service", "Type"));
        Assert.Equal("mixed", unit.One("Service", "KillMode"));
        Assert.Equal("on-failure", unit.One("Service", "Restart"));
        Assert.False(unit.Has("Service", "WatchdogSec"), "the pooler sends no WATCHDOG=1");
        Assert.Contains("/etc/pgwarden/poolers/pgb1/pgbouncer.log {", Of(files, InstallFileKind.Logrotate).Content);
    }

    [Fact]
    public void EtcdMembersAreNamedAfterTheNodesOnTheirHosts()
    {
        var files = Files(Cluster(Yaml()), InstallRole.Etcd, "pg2");
        var unit = UnitOf(files);
        Assert.Equal("pgwarden-etcd-pg2.service", Of(files, InstallFileKind.Unit).FileName);
        Assert.Equal("/usr/bin/etcd", unit.One("Service", "ExecStart"));
        Assert.Equal("etcd", unit.One("Service", "User"));
        Assert.Equal("etcd.service", unit.One("Unit", "Conflicts"));
        var env = unit.All("Service", "Environment");
        Assert.Contains("\"ETCD_NAME=pg2\"", env);
        Assert.Contains("\"ETCD_LISTEN_CLIENT_URLS=http://10.20.0.12:2379\"", env);
        Assert.Contains("\"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.20.0.12:2380\"", env);
        Assert.Contains("\"ETCD_INITIAL_CLUSTER=pg1=http://10.20.0.11:2380,pg2=http://10.20.0.12:2380,pg3=http://10.20.0.13:2380\"", env);
        Assert.Contains("\"ETCD_AUTO_COMPACTION_MODE=periodic\"", env);
        Assert.Contains("\"ETCD_PRE_VOTE=true\"", env);
    }

    [Fact]
    public void HttpsEtcdMembersServeTheirHostsCertificateWithTheKeyHandedOverBySystemd()
    {
        var cluster = Cluster(Yaml().Replace("http://10.20.0.1", "https://10.20.0.1").Replace("endpoints:", "cert_file: /etc/pgwarden/tls/{name}-etcd.crt\n  key_file: /etc/pgwarden/tls/{name}-etcd.key\n  endpoints:"));
        var unit = UnitOf(Files(cluster, InstallRole.Etcd, "pg2"));
        var env = unit.All("Service", "Environment");
        Assert.Contains("\"ETCD_LISTEN_CLIENT_URLS=https://10.20.0.12:2379\"", env);
        Assert.Contains("\"ETCD_INITIAL_CLUSTER=pg1=https://10.20.0.11:2380,pg2=https://10.20.0.12:2380,pg3=https://10.20.0.13:2380\"", env);
        Assert.Contains($"\"ETCD_CERT_FILE={cluster.Tls.CertFile("pg2")}\"", env);
        Assert.Contains("\"ETCD_KEY_FILE=%d/etcd.key\"", env);
        Assert.Contains("\"ETCD_PEER_CLIENT_CERT_AUTH=true\"", env);
        Assert.Contains("\"ETCD_CLIENT_CERT_AUTH=true\"", env);
        Assert.Equal($"etcd.key:{cluster.Tls.KeyFile("pg2")}", unit.One("Service", "LoadCredential"));
        Assert.Equal("etcd", unit.One("Service", "User"));
        // Plain-text endpoints get no TLS settings at all.
        Assert.DoesNotContain(UnitOf(Files(Cluster(Yaml()), InstallRole.Etcd, "pg2")).All("Service", "Environment"), e => e.Contains("CERT", StringComparison.Ordinal));
    }

    [Fact]
    public void EtcdMembersOnTheirOwnHostsAreNumbered()
    {
        var cluster = Cluster(Yaml().Replace("10.20.0.11:2379, http://10.20.0.12:2379, http://10.20.0.13:2379", "10.20.0.31:2379, http://10.20.0.32:2379, http://10.20.0.33:2379"));
        var env = UnitOf(Files(cluster, InstallRole.Etcd, "etcd3")).All("Service", "Environment");
        Assert.Contains("\"ETCD_NAME=etcd3\"", env);
        Assert.Contains("\"ETCD_INITIAL_CLUSTER=etcd1=http://10.20.0.31:2380,etcd2=http://10.20.0.32:2380,etcd3=http://10.20.0.33:2380\"", env);
        var e = Assert.Throws<PgWardenException>(() => Files(cluster, InstallRole.Etcd, "pg1"));
        Assert.Equal(ExitCodes.NotFound, e.ExitCode);
        Assert.Contains("etcd1 at 10.20.0.31:2379", e.Message);
    }

    [Fact]
    public void TheEmbeddedEtcdIsTheDcsServerNamedAfterTheCluster()
    {
        var cluster = Cluster("cluster: demo\nnodes:\n  - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }\n");
        var unit = UnitOf(Files(cluster, InstallRole.Etcd, "demo"));
        Assert.Equal($"{Program} dcs-server --config /etc/pgwarden/cluster.yaml", unit.One("Service", "ExecStart"));
        Assert.Equal(ExitCodes.NotFound, Assert.Throws<PgWardenException>(() => Files(cluster, InstallRole.Etcd, "pg1")).ExitCode);
    }

    [Fact]
    public void TheEmbeddedEtcdRunsAsTheEtcdUserWithItsSecretsAndKeyAsCredentials()
    {
        var cluster = Cluster("cluster: demo\nnodes:\n  - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }\n");
        var files = Files(cluster, InstallRole.Etcd, "demo");
        var unit = UnitOf(files);
        Assert.Equal("etcd", unit.One("Service", "User"));
        Assert.Equal("etcd", unit.One("Service", "Group"));
        // TLS is on unless the file says otherwise: the embedded etcd serves https with node pg1's certificate.
        Assert.NotNull(cluster.Dcs.Tls);
        Assert.Equal([$"secrets.yaml:{cluster.SecretsFile}", $"etcd.key:{cluster.Tls.KeyFile("pg1")}"], unit.All("Service", "LoadCredential"));
        // What it writes is made its own; the cluster directory itself is not.
        var tmpfiles = Of(files, InstallFileKind.TmpFiles);
        Assert.Equal("/etc/tmpfiles.d/pgwarden-etcd-demo.conf", tmpfiles.InstallPath);
        var rules = tmpfiles.Content.Split('\n').Where(l => l.Length > 0 && l[0] != '#').ToList();
        Assert.Equal(
        [
            "d /etc/pgwarden/etcd 0700 etcd etcd -",
            "Z /etc/pgwarden/etcd - etcd etcd -",
            "f /etc/pgwarden/etcd.pid 0644 etcd etcd -",
            "z /etc/pgwarden/etcd.pid 0644 etcd etcd -",
            "f /etc/pgwarden/etcd.lock 0600 etcd etcd -",
            "z /etc/pgwarden/etcd.lock 0600 etcd etcd -",
            "f /etc/pgwarden/etcd-demo.log 0640 etcd etcd -",
            "z /etc/pgwarden/etcd-demo.log 0640 etcd etcd -",
        ], rules);
        Assert.DoesNotContain(rules, r => r.Contains(" /etc/pgwarden ", StringComparison.Ordinal));
        Assert.Contains("/etc/pgwarden searchable (0755); /etc/pgwarden/secrets.yaml stays 0600", Of(files, InstallFileKind.Readme).Content);
    }

    [Fact]
    public void TheEmbeddedEtcdWithoutTlsGetsOnlyTheSecretsAsACredential()
    {
        var cluster = Cluster("cluster: demo\ntls: disabled\nnodes:\n  - { name: pg1, address: 127.0.0.1, port: 5532, api_port: 8008 }\n");
        Assert.Null(cluster.Dcs.Tls);
        var unit = UnitOf(Files(cluster, InstallRole.Etcd, "demo"));
        Assert.Equal([$"secrets.yaml:{cluster.SecretsFile}"], unit.All("Service", "LoadCredential"));
        Assert.Equal("etcd", unit.One("Service", "User"));
    }

    [Theory]
    [InlineData(InstallRole.Node, "pg9")]
    [InlineData(InstallRole.Pooler, "pgb9")]
    [InlineData(InstallRole.Etcd, "nosuch")]
    public void AnUnknownNameIsNotFound(InstallRole role, string name) =>
        Assert.Equal(ExitCodes.NotFound, Assert.Throws<PgWardenException>(() => Files(Cluster(Yaml()), role, name)).ExitCode);

    [Fact]
    public void ARelativeProgramIsABadCommandLine() =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<PgWardenException>(() => Files(Cluster(Yaml()), InstallRole.Node, "pg1", "pgwarden")).ExitCode);

    [Fact]
    public void TheTmpfilesRulesCreateWhatTheAgentWritesAndAgeOutServerLogs()
    {
        var tmpfiles = Of(Files(Cluster(Yaml()), InstallRole.Node, "pg1"), InstallFileKind.TmpFiles);
        Assert.Equal("/etc/tmpfiles.d/pgwarden-agent-pg1.conf", tmpfiles.InstallPath);
        var rules = tmpfiles.Content.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Equal(
        [
            "d /etc/pgwarden/nodes 0750 postgres postgres -",
            "d /etc/pgwarden/nodes/pg1 0700 postgres postgres -",
            "d /etc/pgwarden/logs 0750 postgres postgres -",
            "d /etc/pgwarden/state 0750 postgres postgres -",
            "d /var/lib/postgresql/15/pg1 0700 postgres postgres -",
            "e /var/lib/postgresql/15/pg1/log - - - 30d",
        ], rules);
    }

    [Fact]
    public void TheReadmeSaysWhereEachFileGoes()
    {
        var files = Files(Cluster(Yaml()), InstallRole.Node, "pg1");
        var readme = Of(files, InstallFileKind.Readme).Content;
        foreach (var f in files.Where(f => f.Kind != InstallFileKind.Readme))
        {
            Assert.Contains($"install -m 0644 {f.FileName} {f.InstallPath}", readme);
        }
        Assert.Contains("systemctl enable --now pgwarden-agent-pg1.service", readme);
        Assert.Contains("journald", readme);
    }
}
