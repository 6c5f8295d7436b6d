using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using PgWarden.Core.Dcs;
using PgWarden.Core.Processes;
using PgWarden.Core.Security;
using Xunit.Abstractions;

namespace PgWarden.Dcs.Tests;

/// <summary>
/// A real etcd with authentication on (set up by <see cref="EtcdAuthSetup"/>, as `dcs-server` does)
/// on its own loopback address 127.0.201.9, with <c>--auth-token-ttl 1</c> so that login tokens expire
/// within the tests: who may write a cluster's keys, and that the client logs in again when etcd
/// forgets its token (expiry, restart) — in calls, lease renewals and the watch.
/// </summary>
public sealed class EtcdAuthTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Cluster = "authc";
    private const string OtherCluster = "otherc";
    private static readonly EtcdAuthSetup.Passwords s_passwords = new("root-pw-1", "agent-pw-1", "pooler-pw-1");
    private static readonly EtcdAuthSetup.Passwords s_otherPasswords = new("root-pw-1", "other-agent-pw", "other-pooler-pw");
    private static CancellationToken Ct => CancellationToken.None;

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"pgwarden-dcsauth-{Guid.NewGuid():N}");
    private EtcdServer _server = null!;

    private string Endpoint => _server.ClientUrl;

    public async Task InitializeAsync()
    {
        var (client, peer) = TestPorts.Take();
        Directory.CreateDirectory(_root);
        _server = await StartAsync($"http://127.0.201.9:{client}", $"http://127.0.201.9:{peer}");
        await EtcdAuthSetup.EnableAsync(Endpoint, Cluster, s_passwords, TimeSpan.FromSeconds(5), Ct);
        await EtcdAuthSetup.EnableAsync(Endpoint, OtherCluster, s_otherPasswords, TimeSpan.FromSeconds(5), Ct);
    }

    private Task<EtcdServer> StartAsync(string client, string peer) =>
        EtcdServer.StartAsync("dcs-auth", client, peer, Path.Combine(_root, "etcd"), TimeSpan.FromSeconds(20), CancellationToken.None, authTokenTtl: TimeSpan.FromSeconds(1));

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            Libc.Kill(_server.Pid, Libc.SIGCONT);
            await _server.DisposeAsync();
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private EtcdDcs Agent(string cluster = Cluster) =>
        new(cluster, [Endpoint], credentials: new DcsCredentials(EtcdAuthNames.AgentUser(cluster), cluster == Cluster ? s_passwords.Agent : s_otherPasswords.Agent));

    private EtcdDcs Pooler() => new(Cluster, [Endpoint], credentials: new DcsCredentials(EtcdAuthNames.PoolerUser(Cluster), s_passwords.Pooler));

    [Fact]
    public async Task Without_credentials_nobody_writes_the_leader_key_or_pauses()
    {
        await using var anonymous = new EtcdDcs(Cluster, [Endpoint]);

        var leader = await Assert.ThrowsAsync<DcsUnavailableException>(() => anonymous.TryAcquireLeaderAsync("pg9", TimeSpan.FromSeconds(5), Ct));
        var pause = await Assert.ThrowsAsync<DcsUnavailableException>(() => anonymous.WriteConfigAsync(new DcsConfig { Paused = true }, Ct));
        var failover = await Assert.ThrowsAsync<DcsUnavailableException>(() => anonymous.RequestFailoverAsync(new FailoverRequest(FailoverKind.Failover, null, "pg9", DateTimeOffset.UtcNow), Ct));
        output.WriteLine(pause.Message);
        Assert.All(new[] { leader, pause, failover }, e => Assert.Contains("user name is empty", e.Message));

        // And a raw etcd client (etcdctl's way) is refused too.
        using var raw = new EtcdClient(Endpoint);
        var put = await Assert.ThrowsAsync<RpcException>(() => raw.PutAsync($"/pgwarden/{Cluster}/leader", "pg9"));
        Assert.Contains("user name is empty", put.Status.Detail);

        await using var agent = Agent();
        var view = await agent.ReadAsync(Ct);
        Assert.Null(view.Leader);
        Assert.False(view.Config.Paused);
        Assert.Null(view.Failover);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_one_clear_line()
    {
        await using var wrong = new EtcdDcs(Cluster, [Endpoint], credentials: new DcsCredentials(EtcdAuthNames.AgentUser(Cluster), "not-the-password"));

        var e = await Assert.ThrowsAsync<DcsUnavailableException>(() => wrong.WriteConfigAsync(new DcsConfig { Paused = true }, Ct));
        output.WriteLine(e.Message);
        Assert.Contains($"refused the login of etcd user {EtcdAuthNames.AgentUser(Cluster)}", e.Message);
        Assert.Contains("authentication failed", e.Message);
        Assert.DoesNotContain("not-the-password", e.Message);
        await Assert.ThrowsAsync<DcsUnavailableException>(() => wrong.TryAcquireLeaderAsync("pg9", TimeSpan.FromSeconds(5), Ct));

        await using var agent = Agent();
        Assert.False((await agent.ReadAsync(Ct)).Config.Paused);
    }

    [Fact]
    public async Task The_poolers_user_reads_but_cannot_write()
    {
        await using var agent = Agent();
        Assert.True(await agent.TryAcquireLeaderAsync("pg1", TimeSpan.FromSeconds(10), Ct));
        await using var pooler = Pooler();

        Assert.Equal("pg1", (await pooler.ReadAsync(Ct)).Leader?.Name);
        var e = await Assert.ThrowsAsync<DcsUnavailableException>(() => pooler.WriteConfigAsync(new DcsConfig { Paused = true }, Ct));
        Assert.Contains("permission denied", e.Message);
        await Assert.ThrowsAsync<DcsUnavailableException>(() => pooler.ReleaseLeaderAsync("pg1", Ct));
        Assert.Equal("pg1", (await agent.ReadAsync(Ct)).Leader?.Name);
    }

    [Fact]
    public async Task One_clusters_user_cannot_touch_another_clusters_keys()
    {
        await using var other = Agent(OtherCluster);
        Assert.True(await other.TryAcquireLeaderAsync("pg1", TimeSpan.FromSeconds(10), Ct));

        // The other cluster's agent user, pointed at this cluster's prefix.
        await using var intruder = new EtcdDcs(Cluster, [Endpoint], credentials: new DcsCredentials(EtcdAuthNames.AgentUser(OtherCluster), s_otherPasswords.Agent));
        var e = await Assert.ThrowsAsync<DcsUnavailableException>(() => intruder.TryAcquireLeaderAsync("pg9", TimeSpan.FromSeconds(5), Ct));
        Assert.Contains("permission denied", e.Message);
        await Assert.ThrowsAsync<DcsUnavailableException>(() => intruder.ReadAsync(Ct));
    }

    [Fact]
    public async Task Lease_renewals_go_on_after_the_login_token_expired()
    {
        // The premise: etcd forgets a token after --auth-token-ttl idle seconds.
        using (var raw = new EtcdClient(Endpoint))
        {
            var token = (await raw.AuthenticateAsync(new AuthenticateRequest { Name = EtcdAuthNames.AgentUser(Cluster), Password = s_passwords.Agent })).Token;
            var headers = new Metadata { { "token", token } };
            await raw.GetAsync(new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8($"/pgwarden/{Cluster}/leader") }, headers);
            await Task.Delay(TimeSpan.FromSeconds(3), Ct);
            var expired = await Assert.ThrowsAsync<RpcException>(() => raw.GetAsync(new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8($"/pgwarden/{Cluster}/leader") }, headers));
            Assert.Equal(StatusCode.Unauthenticated, expired.StatusCode);
        }

        await using var agent = Agent();
        Assert.True(await agent.TryAcquireLeaderAsync("pg1", TimeSpan.FromSeconds(10), Ct));
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(2.5), Ct); // longer than the token's 1 s
            Assert.True(await agent.RenewLeaderAsync("pg1", Ct), $"renewal {i} after the token expired");
            await agent.PublishMemberAsync(Members.Sample("pg1"), TimeSpan.FromSeconds(10), Ct);
        }
        Assert.Equal("pg1", (await agent.ReadAsync(Ct)).Leader?.Name);
    }

    [Fact]
    public async Task After_an_etcd_restart_the_client_logs_in_again_and_the_watch_resumes()
    {
        await using var agent = Agent();
        Assert.True(await agent.TryAcquireLeaderAsync("pg1", TimeSpan.FromSeconds(30), Ct));
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var watcher = Agent();
        var watch = watcher.WatchAsync(seen.Enqueue, stop.Token);
        await WaitAsync(async () =>
        {
            await agent.PublishMemberAsync(Members.Sample("pg1"), TimeSpan.FromSeconds(30), Ct);
            return seen.Contains("members/pg1");
        }, "the watch sees a change before the restart");

        await _server.DisposeAsync();
        _server = await StartAsync(_server.ClientUrl, _server.PeerUrl); // etcd forgets every token

        Assert.True(await agent.RenewLeaderAsync("pg1", Ct), "the renewal right after the restart logs in again");
        seen.Clear();
        await WaitAsync(async () =>
        {
            await agent.PublishMemberAsync(Members.Sample("pg1"), TimeSpan.FromSeconds(30), Ct);
            return seen.Contains("members/pg1");
        }, "the watch sees a change after the restart");
        await stop.CancelAsync();
        await watch;
    }

    private static async Task WaitAsync(Func<Task<bool>> probe, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await probe())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out: {what}");
            await Task.Delay(300, Ct);
        }
    }
}
