using PgWarden.Core.Config;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Tests;

/// <summary>
/// Hostile review 17: the agents' API (api.require_client_cert) must refuse what a PgBouncer or etcd host holds,
/// not only the pooler's server certificate. Failed on the code as merged.
/// </summary>
public sealed class HostileReviewApiClientTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-hostile17-api-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// `up` issues every PgBouncer a clientAuth-only etcd client certificate from the cluster CA (dcs.cert_file
    /// '{name}-etcd.crt'), and every etcd member on a host of its own a serverAuth + clientAuth certificate, and
    /// `secrets export --role pooler|etcd` hands them out: both passed the API's client check, so the pooler
    /// certificate's missing clientAuth (docs/tls.md: "a pooler certificate with clientAuth would also open the
    /// agents' API") kept nobody on a PgBouncer or etcd host out of the API.
    /// </summary>
    [Fact]
    public void ThePoolersEtcdClientCertificateAndAnEtcdMembersDoNotOpenTheApi()
    {
        var c = ConfigLoader.Parse(TestClusters.ThreeNodes
            + "\ndcs:\n  embedded: false\n  endpoints: [https://127.0.0.1:2379, https://127.0.0.9:2379]\n  cert_file: 'tls/{name}-etcd.crt'\n  key_file: 'tls/{name}-etcd.key'\n"
            + "api:\n  require_client_cert: true\n", "test.yaml", _dir);
        ClusterCertificates.EnsureGenerated(c, null, DateTimeOffset.UtcNow);
        var trust = CaTrust.ForApi(c);   // what ApiEndpoint uses (it used CaTrust.Load: every assertion below but the first two held)

        using var poolerEtcd = PemFiles.ReadCertificate(c.Dcs.ClientTls("pgb1")!.CertFile!);
        using var member = PemFiles.ReadCertificate(c.Tls.CertFile("etcd2"));
        using var pg2 = PemFiles.ReadCertificate(c.Tls.CertFile("pg2"));
        using var pg2Etcd = PemFiles.ReadCertificate(c.Dcs.ClientTls("pg2")!.CertFile!);
        using var admin = PemFiles.ReadCertificate(c.Tls.AdminCertFile!);

        Assert.False(trust.VerifiesClient(poolerEtcd));
        Assert.False(trust.VerifiesClient(member));
        Assert.True(trust.VerifiesClient(pg2));
        Assert.True(trust.VerifiesClient(pg2Etcd));
        Assert.True(trust.VerifiesClient(admin));
    }
}
