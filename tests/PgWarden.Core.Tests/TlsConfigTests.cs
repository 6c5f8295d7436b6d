using PgWarden.Core.Config;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tests;

/// <summary>The tls: and api: sections: TLS is on unless the file says otherwise, in so many words.</summary>
public class TlsConfigTests
{
    private static ClusterConfig Parse(string extra) => TestClusters.Parse(TestClusters.ThreeNodes + "\n" + extra);

    [Fact]
    public void WithoutATlsSectionTlsIsOnWithGeneratedCertificatesUnderTheClusterDirectory()
    {
        var tls = TestClusters.Demo().Tls;

        Assert.True(tls.Enabled);
        Assert.Equal(TlsMode.Generated, tls.Mode);
        Assert.Equal("/tmp/base/tls/ca.crt", tls.CaFile);
        Assert.Equal("/tmp/base/tls/pg2.crt", tls.CertFile("pg2"));
        Assert.Equal("/tmp/base/tls/pgb1.key", tls.KeyFile("pgb1"));
        Assert.Equal("/tmp/base/tls/ca.key", tls.CaKeyFile);
        Assert.Equal("/tmp/base/tls/admin.crt", tls.AdminCertFile);
        Assert.Equal(PoolerClientTlsMode.Require, tls.PoolerClientMode);
    }

    [Fact]
    public void ApiUrlsAreHttpsWithTlsOnAndHttpOnlyWhenDisabled()
    {
        Assert.Equal("https://127.0.0.2:8008", TestClusters.Demo().Node("pg2").ApiUrl);
        Assert.Equal("http://127.0.0.2:8008", Parse("tls: disabled").Node("pg2").ApiUrl);
    }

    [Theory]
    [InlineData("tls: disabled")]
    [InlineData("tls: { mode: disabled }")]
    public void PlainTextOnlyWhenWrittenExplicitly(string yaml)
    {
        var c = Parse(yaml);

        Assert.False(c.Tls.Enabled);
        Assert.Equal(TlsMode.Disabled, c.Tls.Mode);
    }

    [Theory]
    [InlineData("tls: {}")]
    [InlineData("tls: generated")]
    [InlineData("tls: { mode: generated }")]
    [InlineData("tls: { pooler_client_sslmode: require }")]
    public void AnythingShortOfDisabledKeepsTlsOn(string yaml) => Assert.True(Parse(yaml).Tls.Enabled);

    [Theory]
    [InlineData("tls: off", "tls: 'off' must be disabled, generated")]
    [InlineData("tls: false", "tls: 'false' must be disabled, generated")]
    [InlineData("tls: { mode: plain }", "tls.mode: 'plain' must be generated, files or disabled")]
    [InlineData("tls: { mode: disabled, ca_file: /x/ca.crt }", "tls.mode: is disabled, but certificate files are given")]
    [InlineData("tls: { ca_file: /x/ca.crt, cert_file: '/x/{name}.crt' }", "tls.key_file: is required with your own certificates")]
    [InlineData("tls: { mode: generated, cert_file: '/x/{name}.crt' }", "tls.mode: is generated")]
    [InlineData("tls: { pooler_client_sslmode: prefer }", "tls.pooler_client_sslmode: 'prefer' must be require, verify-ca or verify-full")]
    [InlineData("tls: { admin_cert_file: /x/a.crt }", "tls.admin_key_file: admin_cert_file and admin_key_file go together")]
    [InlineData("tls: { cafile: /x }", "tls.cafile: unknown key")]
    [InlineData("api: { allowlist: [10.0.0.300/8] }", "api.allowlist: '10.0.0.300/8' is not a network in CIDR form")]
    [InlineData("tls: disabled\napi: { require_client_cert: true }", "api.require_client_cert: needs TLS, but tls is disabled")]
    public void MistakesNameTheKey(string yaml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(yaml));
        Assert.Contains("test.yaml: " + expected, System.Text.RegularExpressions.Regex.Replace(e.Message, @"^test\.yaml:\d+:\d+:", "test.yaml:"));
    }

    [Fact]
    public void OwnCertificatesPerHostThroughTheNamePlaceholder()
    {
        // Block style: {name} needs no quotes there (in a flow mapping { … } it does: '…/{name}.crt').
        var c = Parse("""
            tls:
              ca_file: /etc/pgwarden/tls/ca.crt
              cert_file: /etc/pgwarden/tls/{name}.crt
              key_file: keys/{name}.key
              pooler_client_sslmode: verify-full
            """);

        Assert.Equal(TlsMode.Files, c.Tls.Mode);
        Assert.Equal("/etc/pgwarden/tls/pg3.crt", c.Tls.CertFile("pg3"));
        Assert.Equal("/tmp/base/keys/pgb2.key", c.Tls.KeyFile("pgb2"));
        Assert.Null(c.Tls.AdminCertFile);
        Assert.Equal(PoolerClientTlsMode.VerifyFull, c.Tls.PoolerClientMode);
    }

    [Fact]
    public void SslSettingsCannotBeOverriddenThroughParameters()
    {
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(TestClusters.ThreeNodes.Replace("max_connections: 200", "max_connections: 200\n  parameters: { ssl: 'off' }")));
        Assert.Contains("parameters.ssl: is managed by PgWarden", e.Message);
    }

    [Fact]
    public void ApiSectionReadsClientCertificatesAndTheAllowlist()
    {
        var c = Parse("api: { require_client_cert: true, allowlist: [10.1.0.0/16, 192.0.2.7/32] }");

        Assert.True(c.Api.RequireClientCert);
        Assert.Equal(["10.1.0.0/16", "192.0.2.7/32"], c.Api.Allowlist.ToArray());
        Assert.Equal(ApiAccessSettings.Open, TestClusters.Demo().Api);
    }
}
