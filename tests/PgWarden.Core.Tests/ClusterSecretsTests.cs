using PgWarden.Core.Errors;
using PgWarden.Core.Security;

namespace PgWarden.Core.Tests;

public sealed class ClusterSecretsTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _dir = Directory.CreateTempSubdirectory("pgwarden-secrets-").FullName;
    private readonly ClusterSecrets _secrets = new("super-pw", "repl-pw", "app-pw", "admin-pw", "api-token-0123456789");

    private string SecretsPath => Path.Combine(_dir, "secrets.yaml");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void SaveWritesOwnerOnlyFile()
    {
        _secrets.Save(SecretsPath);

        Assert.Equal(OwnerOnly, File.GetUnixFileMode(SecretsPath));
        Assert.Equal(["secrets.yaml"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void SaveTightensAnExistingFile()
    {
        File.WriteAllText(SecretsPath, "old");
        File.SetUnixFileMode(SecretsPath, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        _secrets.Save(SecretsPath);

        Assert.Equal(OwnerOnly, File.GetUnixFileMode(SecretsPath));
    }

    [Fact]
    public void SaveCreatesMissingDirectories()
    {
        var path = Path.Combine(_dir, "a", "b", "secrets.yaml");

        _secrets.Save(path);

        Assert.Equal(_secrets, ClusterSecrets.Load(path));
    }

    [Fact]
    public void LoadRoundTrips()
    {
        _secrets.Save(SecretsPath);

        Assert.Equal(_secrets, ClusterSecrets.Load(SecretsPath));
    }

    [Fact]
    public void GeneratedSecretsRoundTrip()
    {
        var generated = ClusterSecrets.Generate();
        generated.Save(SecretsPath);

        Assert.Equal(generated, ClusterSecrets.Load(SecretsPath));
        Assert.Equal(32, generated.AppPassword.Length);
        Assert.Equal(40, generated.ApiToken.Length);
        Assert.Equal(5, new[] { generated.SuperuserPassword, generated.ReplicationPassword, generated.AppPassword,
            generated.PoolerAdminPassword, generated.ApiToken }.Distinct().Count());
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void LoadRefusesAFileOthersCanAccess(UnixFileMode extra)
    {
        _secrets.Save(SecretsPath);
        File.SetUnixFileMode(SecretsPath, OwnerOnly | extra);

        var e = Assert.Throws<PgWardenException>(() => ClusterSecrets.Load(SecretsPath));

        Assert.Equal(ExitCodes.UnsafeRefused, e.ExitCode);
        Assert.Equal($"secrets file {SecretsPath} is readable by other users; run: chmod 600 {SecretsPath}", e.Message);
    }

    [Fact]
    public void LoadOfAMissingFileSaysHowItIsCreated()
    {
        var e = Assert.Throws<PgWardenException>(() => ClusterSecrets.Load(SecretsPath));

        Assert.Equal(ExitCodes.ConfigError, e.ExitCode);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void LoadNamesAMissingKey()
    {
        File.WriteAllText(SecretsPath, "superuser_password: \"a\"\nreplication_password: \"b\"\n");
        File.SetUnixFileMode(SecretsPath, OwnerOnly);

        var e = Assert.Throws<PgWardenException>(() => ClusterSecrets.Load(SecretsPath));

        Assert.Equal($"secrets file {SecretsPath}: 'app_password' is missing", e.Message);
    }
}
