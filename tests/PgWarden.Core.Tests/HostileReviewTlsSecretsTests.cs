using System.Net;
using PgWarden.Core.Api;
using PgWarden.Core.Config;
using PgWarden.Core.Security;
using PgWarden.Core.Tls;

namespace PgWarden.Core.Tests;

/// <summary>Hostile review of issue 12 (TLS, per-role secrets): each test failed on the code as merged.</summary>
public sealed class HostileReviewTlsSecretsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-hostile12-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// SecureFile wrote through a pre-existing <c>&lt;path&gt;.tmp-&lt;pid&gt;</c> (FileMode.Create follows a
    /// symlink and keeps an existing file's owner and mode): whoever can write the target directory could
    /// plant a symlink and receive the secrets in a file of their choosing, and the final path became a symlink.
    /// </summary>
    [Fact]
    public void ASecretIsNeverWrittenThroughAPlantedTemporaryFile()
    {
        var victim = Path.Combine(_dir, "elsewhere.txt");
        File.WriteAllText(victim, "untouched");
        var path = Path.Combine(_dir, "secrets.yaml");
        File.CreateSymbolicLink(path + ".tmp-" + Environment.ProcessId, victim);

        SecureFile.WriteAllText(path, "superuser_password: \"s3cret\"\n");

        Assert.Equal("untouched", File.ReadAllText(victim));
        Assert.Null(new FileInfo(path).LinkTarget);
        Assert.Equal("superuser_password: \"s3cret\"\n", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    /// <summary>
    /// A node or pooler host without its certificate was told to "copy the cluster's tls/ directory to this
    /// host" — the directory that holds ca.key (and every other host's key and the admin key), which
    /// docs/tls.md says never to copy to a database or PgBouncer host.
    /// </summary>
    [Fact]
    public void AMissingHostCertificateNeverAdvisesCopyingTheCaKey()
    {
        var cluster = ConfigLoader.Parse(TestClusters.ThreeNodes, "test.yaml", _dir);

        var e = Assert.Throws<Errors.ConfigException>(() => ClusterCertificates.RequireHostFiles(cluster, "pg2"));

        Assert.DoesNotContain("copy the cluster's tls/ directory to this host", e.Message);
        Assert.Contains("ca.crt", e.Message);
        Assert.Contains("never ca.key", e.Message);
    }

    /// <summary>
    /// api.allowlist "always allows the nodes", but only nodes whose address is an IP literal: with nodes
    /// named by host name (accepted by the configuration) their agents' daily check and the CLI on the
    /// node hosts were answered 403 unless an allowlisted network happened to cover them.
    /// </summary>
    [Fact]
    public void TheAllowlistAdmitsNodesGivenByHostName()
    {
        var yaml = TestClusters.ThreeNodes
            .Replace("address: 127.0.0.1, port: 5532", "address: localhost, port: 5532", StringComparison.Ordinal)
            .Replace("127.0.0.2", "10.9.0.2", StringComparison.Ordinal)
            .Replace("127.0.0.3", "10.9.0.3", StringComparison.Ordinal)
            + "\napi: { allowlist: [10.1.0.0/16] }\n";
        var list = ApiAllowlist.For(ConfigLoader.Parse(yaml, "test.yaml", _dir))!;

        Assert.True(list.Allows(IPAddress.Loopback));       // pg1 = localhost
        Assert.True(list.Allows(IPAddress.Parse("10.9.0.2")));
        Assert.False(list.Allows(IPAddress.Parse("10.9.0.4")));
    }
}
