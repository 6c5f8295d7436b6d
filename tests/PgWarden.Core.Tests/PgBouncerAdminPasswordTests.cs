using PgWarden.Core.Config;
using PgWarden.Core.Processes;
using PgWarden.Core.Security;
using PgWarden.Pooler;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;

namespace PgWarden.Core.Tests;

/// <summary>
/// PgBouncer's admin password never lands on disk: a passfile in /tmp, deleted only when the call returned,
/// stayed behind (0600, with the password) when the process was killed mid-call. psql now gets it in its own
/// environment, and the passfiles earlier versions left are removed — the process's own, old ones only.
/// </summary>
public sealed class PgBouncerAdminPasswordTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pgw-stale-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Records the command and which admin passfiles exist in the temporary directory while psql "runs".</summary>
    private sealed class RecordingRunner : IToolRunner
    {
        public ToolCommand? Command { get; private set; }
        public string[] PassfilesDuringCall { get; private set; } = [];

        public Task<ToolResult> RunAsync(ToolCommand command, CancellationToken cancellationToken)
        {
            Command = command;
            PassfilesDuringCall = Directory.GetFiles(Path.GetTempPath(), PgBouncerAdmin.LegacyPassfilePattern);
            return Task.FromResult(new ToolResult(0, "appdb|127.0.0.1|5532|\n", ""));
        }
    }

    [Fact]
    public async Task ThePasswordReachesPsqlInItsEnvironmentNotInAFileAndStalePassfilesAreRemoved()
    {
        // A passfile an earlier version left behind when it was killed mid-call.
        var stale = Path.Combine(Path.GetTempPath(), $"pgwarden-pgbouncer-{Guid.NewGuid():N}.pgpass");
        File.WriteAllText(stale, "127.0.0.1:6432:pgbouncer:pgwarden_admin:old-secret\n");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-1));
        try
        {
            var cluster = TestClusters.Demo();
            var secrets = new ClusterSecrets("su", "repl", "app", "admin-secret-42", "token");
            var runner = new RecordingRunner();
            var routed = await new PgBouncerAdmin(cluster, secrets, runner).RoutesToAsync(cluster.Poolers[0], "appdb", "127.0.0.1", 5532, CancellationToken.None);

            Assert.True(routed);
            var command = runner.Command!;
            Assert.Equal("admin-secret-42", command.Environment["PGPASSWORD"]);
            Assert.False(command.Environment.ContainsKey("PGPASSFILE"));
            Assert.DoesNotContain(command.Arguments, a => a.Contains("admin-secret-42", StringComparison.Ordinal));
            Assert.DoesNotContain("admin-secret-42", command.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(runner.PassfilesDuringCall, f => File.Exists(f) && File.ReadAllText(f).Contains("admin-secret-42", StringComparison.Ordinal));
            Assert.False(File.Exists(stale));
        }
        finally
        {
            File.Delete(stale);
        }
    }

    [Fact]
    public void APgBouncerOnThisHostIsReachedOverItsUnixSocketWithoutTheAdminCertificate()
    {
        // Hostile review 17: a PgBouncer host has no admin certificate, so with pooler_client_sslmode
        // verify-ca its own pooler could not pause, reload or resume it over TCP.
        var cluster = ConfigLoader.Parse(TestClusters.ThreeNodes + "\ntls: { pooler_client_sslmode: verify-ca }\n", "test.yaml", _dir.FullName);
        var pooler = cluster.Poolers[0];

        var (remote, remoteTls) = PgBouncerAdmin.Endpoint(cluster, pooler);
        Assert.Equal(pooler.Address, remote);
        Assert.True(remoteTls.ContainsKey("PGSSLCERT"), "a PgBouncer on another host is reached over TCP with the admin certificate");

        var run = Directory.CreateDirectory(Path.Combine(pooler.HomeDir(cluster), "run"));
        File.WriteAllText(Path.Combine(run.FullName, $".s.PGSQL.{pooler.Port}"), "");
        var (local, localTls) = PgBouncerAdmin.Endpoint(cluster, pooler);
        Assert.Equal(run.FullName, local);
        Assert.Empty(localTls);
        Assert.Equal(pooler.Address, PgBouncerAdmin.Endpoint(cluster, cluster.Poolers[1]).Host);
    }

    private string Make(string name, TimeSpan age)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, "secret\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    [Fact]
    public void OnlyOldRegularFilesOfThisUserMatchingThePatternAreRemoved()
    {
        var old = Make("pgwarden-pgbouncer-a.pgpass", TimeSpan.FromHours(1));
        var young = Make("pgwarden-pgbouncer-b.pgpass", TimeSpan.FromMinutes(1));
        var other = Make("unrelated-c.pgpass", TimeSpan.FromHours(1));
        var target = Make("target", TimeSpan.FromHours(1));
        var link = Path.Combine(_dir.FullName, "pgwarden-pgbouncer-link.pgpass");
        File.CreateSymbolicLink(link, target);
        string? foreign = null;
        if (Libc.IsRoot)
        {
            // Root deletes anything in a sticky /tmp: a file of another user must still be left alone.
            foreign = Make("pgwarden-pgbouncer-foreign.pgpass", TimeSpan.FromHours(1));
            Libc.Chown(foreign, 65534, 65534);
        }

        var removed = StaleOwnFiles.Remove(_dir.FullName, PgBouncerAdmin.LegacyPassfilePattern, TimeSpan.FromMinutes(10), DateTime.UtcNow);

        Assert.Equal(1, removed);
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(young));
        Assert.True(File.Exists(other));
        Assert.True(File.Exists(target));
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.True(foreign is null || File.Exists(foreign));
    }

    [Fact]
    public void AMissingDirectoryRemovesNothing() =>
        Assert.Equal(0, StaleOwnFiles.Remove(Path.Combine(_dir.FullName, "nope"), "*", TimeSpan.Zero, DateTime.UtcNow));
}
