using PgWarden.Core.Dcs;
using PgWarden.Core.Tls;

namespace PgWarden.Dcs.Tests;

/// <summary>
/// etcd over TLS (issue 12, item 2) on its own loopback address 127.0.202.9: the client trusts only
/// the configured CA and checks the host name; with <c>--client-cert-auth</c> it must present a
/// certificate of that CA. One etcd for the class (<see cref="EtcdTlsFixture"/>), client certificates required.
/// </summary>
public sealed class EtcdTlsTests(EtcdTlsFixture etcd) : IClassFixture<EtcdTlsFixture>
{
    private static CancellationToken Ct => CancellationToken.None;

    private string Ca => etcd.Ca;

    private string File(string name) => etcd.File(name);

    private EtcdDcs Client(DcsTls? tls, string? endpoint = null) => new("tlsc", [endpoint ?? etcd.Server.ClientUrl], tls: tls);

    [Fact]
    public async Task A_client_with_the_CA_and_its_certificate_reads_and_leads()
    {
        await using var dcs = Client(new DcsTls(Ca, File("pg1.crt"), File("pg1.key")));
        Assert.True(await dcs.TryInitializeAsync("pg1", Ct));
        Assert.True(await dcs.TryAcquireLeaderAsync("pg1", TimeSpan.FromSeconds(10), Ct));
        Assert.Equal("pg1", (await dcs.ReadAsync(Ct)).Leader?.Name);
    }

    [Fact]
    public async Task A_server_certificate_of_another_CA_is_refused()
    {
        await using var dcs = Client(new DcsTls(File("other-ca.crt"), File("pg1.crt"), File("pg1.key")));
        var e = await Assert.ThrowsAsync<DcsUnavailableException>(() => dcs.ReadAsync(Ct));
        Assert.Contains(etcd.Server.ClientUrl, e.Message);
        Assert.Contains("remote certificate is invalid", e.Message);
    }

    [Fact]
    public async Task Without_a_client_certificate_of_the_CA_etcd_refuses()
    {
        await using var none = Client(new DcsTls(Ca));
        await Assert.ThrowsAsync<DcsUnavailableException>(() => none.ReadAsync(Ct));
        await using var impostor = Client(new DcsTls(Ca, File("impostor.crt"), File("impostor.key")));
        await Assert.ThrowsAsync<DcsUnavailableException>(() => impostor.ReadAsync(Ct));
    }

    /// <summary>
    /// A pooler's generated certificate serves only (serverAuth): etcd (Go's crypto/x509) refuses it as a
    /// client certificate, while a node's (serverAuth + clientAuth) passes; PgWarden's own client says so
    /// in one line before connecting instead of etcd's "bad certificate".
    /// </summary>
    [Fact]
    public async Task A_server_only_certificate_is_no_client_certificate()
    {
        async Task<bool> EtcdAnswers(string name)
        {
            using var mine = PemFiles.ReadWithKey(File(name + ".crt"), File(name + ".key"));
            var handler = new SocketsHttpHandler { UseProxy = false };
            handler.SslOptions.CertificateChainPolicy = CaTrust.Load(Ca).Policy(CertificateFactory.ServerAuth);
            handler.SslOptions.ClientCertificates = [mine];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => mine;
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                return (await http.GetAsync(etcd.Server.ClientUrl + "/version")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }

        Assert.True(await EtcdAnswers("pg1"));
        Assert.False(await EtcdAnswers("pgb1"));
        var e = Assert.Throws<PgWarden.Core.Errors.ConfigException>(() => Client(new DcsTls(Ca, File("pgb1.crt"), File("pgb1.key"))));
        Assert.Equal($"the etcd client certificate {File("pgb1.crt")} has no clientAuth extended key usage (it is a server certificate only), so etcd refuses it: use a client certificate of the CA (dcs.cert_file / key_file; docs/tls.md)", e.Message);
    }

    [Fact]
    public async Task Plain_text_is_refused_both_ways()
    {
        // An https endpoint without a CA is a configuration error, not a silent fallback.
        Assert.Throws<ArgumentException>(() => Client(null));
        // Plain text to the TLS port gets no answer it could read.
        await using var plain = Client(null, etcd.Server.ClientUrl.Replace("https://", "http://"));
        await Assert.ThrowsAsync<DcsUnavailableException>(() => plain.ReadAsync(Ct));
    }
}

/// <summary>A CA, certificates for etcd1 (127.0.202.9), pg1, pooler pgb1 (serverAuth only) and an impostor of another CA, and an etcd serving https with client certificates required.</summary>
public sealed class EtcdTlsFixture : IAsyncLifetime
{
    private const string Address = "127.0.202.9";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"pgwarden-dcstls-{Guid.NewGuid():N}");
    public EtcdServer Server { get; private set; } = null!;

    public string Ca => Path.Combine(_root, "ca.crt");

    public string File(string name) => Path.Combine(_root, name);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        var now = DateTimeOffset.UtcNow;
        using (var ca = CertificateFactory.CreateAuthority("test CA", now, TimeSpan.FromDays(1)))
        using (var other = CertificateFactory.CreateAuthority("someone else's CA", now, TimeSpan.FromDays(1)))
        {
            PemFiles.WriteCertificate(Ca, ca);
            PemFiles.WriteCertificate(File("other-ca.crt"), other);
            Issue(ca, "etcd1", Address, "etcd1");
            Issue(ca, "pg1", "127.0.202.10", "pg1");
            Issue(ca, "pgb1", "127.0.202.11", "pgb1", HostCertificateRole.Pooler);
            Issue(other, "pg1", "127.0.202.10", "impostor");
        }
        // Its own address, so fixed ports cannot clash with the other classes' (TestPorts has no slot to spare).
        Server = await EtcdServer.StartAsync("dcs-tls", $"https://{Address}:23850", $"https://{Address}:23851", Path.Combine(_root, "etcd"),
            TimeSpan.FromSeconds(20), CancellationToken.None, tls: new EtcdServerTls(File("etcd1.crt"), File("etcd1.key"), Ca, ClientCertAuth: true));
    }

    private void Issue(System.Security.Cryptography.X509Certificates.X509Certificate2 ca, string name, string address, string file, HostCertificateRole role = HostCertificateRole.Node)
    {
        using var host = CertificateFactory.IssueHost(ca, name, [address], DateTimeOffset.UtcNow, TimeSpan.FromDays(1), role);
        PemFiles.WritePrivateKey(File(file + ".key"), host, null);
        PemFiles.WriteCertificate(File(file + ".crt"), host);
    }

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
        Directory.Delete(_root, recursive: true);
    }

}
