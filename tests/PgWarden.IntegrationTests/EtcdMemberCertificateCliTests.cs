using PgWarden.Core.Config;
using PgWarden.Core.Tls;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// `pgwarden install --role etcd` through the real CLI refuses, with one line and exit 3, to write the unit
/// of a member whose certificate does not chain to the CA etcd's clients trust (dcs.ca_file other than the
/// CA that signed it) — checked by the chain, so the same CA under another path passes. Addresses in
/// 127.0.241.0/24 are only written, never bound; nothing is started.
/// </summary>
public sealed class EtcdMemberCertificateCliTests : IDisposable
{
    private const int Subnet = 241;
    private readonly string _root = Directory.CreateTempSubdirectory("pgwarden-etcd-member-cli-").FullName;

    private string Config => Path.Combine(_root, "cluster.yaml");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void WriteConfig(string? caFile)
    {
        var endpoints = string.Join(", ", Enumerable.Range(1, 3).Select(i => $"https://127.0.{Subnet}.{i}:2379"));
        File.WriteAllText(Config, TestCluster.Yaml(Subnet, 3, $"dcs:\n  embedded: false\n  endpoints: [{endpoints}]\n" + (caFile is null ? "" : $"  ca_file: {caFile}\n")));
    }

    /// <summary>The etcd host's files come from `secrets export --role etcd --name M` alone: `install --role etcd` runs from them.</summary>
    [Fact]
    public async Task AnEtcdMembersExportIsEnoughToInstallItsUnit()
    {
        WriteConfig(null);
        var cluster = ConfigLoader.LoadFile(Config);
        ClusterCertificates.EnsureGenerated(cluster, null, DateTimeOffset.UtcNow);
        PgWarden.Core.Security.ClusterSecrets.Generate().Save(cluster.SecretsFile);
        var host = Path.Combine(_root, "etcd-host");

        var export = await PgWardenCli.RunAsync("secrets", "export", "--role", "etcd", "--name", "pg3", "--config", Config, "--output", host);
        Assert.True(export.ExitCode == 0, export.ToString());
        foreach (var file in new[] { "cluster.yaml", "secrets.yaml", "tls/ca.crt", "tls/pg3.crt", "tls/pg3.key" })
        {
            Assert.True(File.Exists(Path.Combine(host, file)), $"{file} missing:\n{export.Stdout}");
        }
        Assert.False(File.Exists(Path.Combine(host, "tls", "ca.key")));

        var install = await PgWardenCli.RunAsync("install", "--role", "etcd", "--name", "pg3", "--config", Path.Combine(host, "cluster.yaml"), "--output", Path.Combine(_root, "units"));
        Assert.True(install.ExitCode == 0, install.ToString());
        Assert.Equal("", install.Stderr.Trim());   // the certificate was checked (no "not checked" note) and passed
        Assert.Contains($"ETCD_CERT_FILE={Path.Combine(host, "tls", "pg3.crt")}", File.ReadAllText(Path.Combine(_root, "units", "pgwarden-etcd-pg3.service")));
    }

    [Fact]
    public async Task AMemberCertificateTheClientsDoNotTrustIsOneLineAndExit3()
    {
        WriteConfig("ca-copy.crt");
        var cluster = ConfigLoader.LoadFile(Config);
        ClusterCertificates.EnsureGenerated(cluster, null, DateTimeOffset.UtcNow);
        using (var other = CertificateFactory.CreateAuthority("another CA", DateTimeOffset.UtcNow, TimeSpan.FromDays(1)))
        {
            PemFiles.WriteCertificate(Path.Combine(_root, "other-ca.crt"), other);
        }
        File.Copy(cluster.Tls.CaFile, Path.Combine(_root, "ca-copy.crt"));

        // The same CA under another path: the chain holds, the unit is written.
        var same = await PgWardenCli.RunAsync("install", "--role", "etcd", "--name", "pg2", "--config", Config, "--output", Path.Combine(_root, "ok"));
        Assert.True(same.ExitCode == 0, same.ToString());

        WriteConfig("other-ca.crt");
        var result = await PgWardenCli.RunAsync("install", "--role", "etcd", "--name", "pg2", "--config", Config, "--output", Path.Combine(_root, "out"));

        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"pgwarden: error: etcd member pg2's certificate {cluster.Tls.CertFile("pg2")} is not signed by the CA etcd's clients and peers trust", line);
        Assert.False(Directory.Exists(Path.Combine(_root, "out")));
    }
}
