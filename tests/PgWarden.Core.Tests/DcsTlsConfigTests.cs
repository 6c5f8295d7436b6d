using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tests;

/// <summary>TLS to etcd in the configuration (issue 12, item 2): who gets https, which CA, and what is refused.</summary>
public sealed class DcsTlsConfigTests
{
    private const string Nodes = """
        cluster: shop
        nodes:
          - { name: pg1, address: 127.0.0.1, port: 5432, api_port: 8008 }

        """;

    private static string Problems(string yaml) =>
        string.Join('\n', Assert.Throws<ConfigException>(() => TestClusters.Parse(yaml)).Problems);

    [Fact]
    public void TheEmbeddedEtcdServesHttpsWithTheClustersCaWhenTlsIsOn()
    {
        var c = TestClusters.Parse(Nodes);
        Assert.Equal("https://127.0.0.1:2479", Assert.Single(c.Dcs.Endpoints));
        Assert.Equal("https://127.0.0.1:2480", c.Dcs.EmbeddedPeerUrl);
        Assert.Equal(new Core.Dcs.DcsTls(c.Tls.CaFile), c.Dcs.ClientTls("pg1"));
    }

    [Fact]
    public void PlainTextOnlyWhenTheConfigurationSaysSo()
    {
        var off = TestClusters.Parse(Nodes + "tls: disabled\n");
        Assert.Equal("http://127.0.0.1:2479", Assert.Single(off.Dcs.Endpoints));
        Assert.Null(off.Dcs.ClientTls("pg1"));
        var external = TestClusters.Parse(Nodes + "dcs:\n  endpoints: [http://10.0.0.5:2379]\n");
        Assert.Null(external.Dcs.ClientTls("pg1"));
    }

    [Fact]
    public void ExternalHttpsEndpointsUseTheirOwnCaAndAClientCertificatePerHost()
    {
        var c = TestClusters.Parse(Nodes + "dcs:\n  endpoints: [https://10.0.0.5:2379, https://10.0.0.6:2379]\n  ca_file: /etc/etcd/ca.crt\n  cert_file: /etc/etcd/{name}.crt\n  key_file: /etc/etcd/{name}.key\n");
        Assert.Equal(new Core.Dcs.DcsTls("/etc/etcd/ca.crt", "/etc/etcd/pg1.crt", "/etc/etcd/pg1.key"), c.Dcs.ClientTls("pg1"));
        // The CLI has no host name: it presents no certificate named by a template.
        Assert.Equal(new Core.Dcs.DcsTls("/etc/etcd/ca.crt"), c.Dcs.ClientTls(null));
        var clusterCa = TestClusters.Parse(Nodes + "dcs:\n  endpoints: [https://10.0.0.5:2379]\n");
        Assert.Equal(clusterCa.Tls.CaFile, clusterCa.Dcs.ClientTls("pg1")!.CaFile);
    }

    [Theory]
    [InlineData("dcs:\n  endpoints: [https://10.0.0.5:2379, http://10.0.0.6:2379]\n", "mixes http:// and https://")]
    [InlineData("tls: disabled\ndcs:\n  endpoints: [https://10.0.0.5:2379]\n", "ca_file: is required for https:// endpoints")]
    [InlineData("dcs:\n  endpoints: [http://10.0.0.5:2379]\n  ca_file: /etc/etcd/ca.crt\n", "is only used with https:// endpoints")]
    [InlineData("dcs:\n  endpoints: [https://10.0.0.5:2379]\n  cert_file: /etc/etcd/{name}.crt\n", "cert_file and key_file go together")]
    [InlineData("tls: disabled\ndcs:\n  endpoints: [https://127.0.0.1:2479]\n  embedded: true\n", "embedded etcd serves https only with the cluster's TLS on")]
    public void InconsistentEtcdTlsSettingsAreRefused(string extra, string expected) =>
        Assert.Contains(expected, Problems(Nodes + extra));
}
