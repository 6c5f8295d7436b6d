using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;

namespace PgWarden.Core.Tests;

/// <summary>
/// Issue 13 item 6 / issue 12 item 6: every command finds its configuration in one order — --config, --dir,
/// PGWARDEN_CONFIG, /etc/pgwarden/cluster.yaml, ./cluster.yaml, the demo's — with the environment, the file
/// system and /etc's place injected (nothing here reads the real /etc or environment).
/// </summary>
public class ConfigDiscoveryTests
{
    private const string Cwd = "/work/here";
    private const string Etc = "/fake-etc/pgwarden/cluster.yaml";
    private const string Local = "/work/here/cluster.yaml";
    private const string Demo = "/work/here/.pgwarden/demo/cluster.yaml";

    private static ConfigDiscovery With(string? env, params string[] files) =>
        new(name => name == ConfigDiscovery.EnvironmentVariable ? env : null, files.Contains, Cwd, Etc);

    [Fact]
    public void ConfigOptionWinsOverEverything()
    {
        var found = With("/env/c.yaml", "/env/c.yaml", Etc, Local, Demo, "/opt/c.yaml").Find("/opt/c.yaml", "somedir");
        Assert.Equal(("/opt/c.yaml", ConfigSource.ConfigOption, true), (found.Path, found.Source, found.Exists));
    }

    [Fact]
    public void RelativeConfigOptionIsResolvedAgainstTheCurrentDirectory()
    {
        var found = With(null).Find("conf/c.yaml", null);
        Assert.Equal(("/work/here/conf/c.yaml", false), (found.Path, found.Exists));
    }

    [Fact]
    public void DirOptionComesSecondAndMeansDirClusterYaml()
    {
        var found = With("/env/c.yaml", "/env/c.yaml", Etc, Local, Demo, "/srv/c1/cluster.yaml").Find(null, "/srv/c1");
        Assert.Equal(("/srv/c1/cluster.yaml", ConfigSource.DirOption, true), (found.Path, found.Source, found.Exists));
    }

    [Fact]
    public void EnvironmentVariableComesThird()
    {
        var found = With("/env/c.yaml", "/env/c.yaml", Etc, Local, Demo).Find(null, null);
        Assert.Equal(("/env/c.yaml", ConfigSource.EnvironmentVariable), (found.Path, found.Source));
    }

    [Fact]
    public void EnvironmentVariableNamingAMissingFileIsNotSkippedToAnotherCluster()
    {
        var found = With("/env/missing.yaml", Etc, Local, Demo).Find(null, null);
        Assert.Equal(("/env/missing.yaml", ConfigSource.EnvironmentVariable, false), (found.Path, found.Source, found.Exists));
        Assert.Equal("configuration file /env/missing.yaml (from PGWARDEN_CONFIG) does not exist", ClusterLocator.WhyMissing(found));
    }

    [Fact]
    public void EmptyEnvironmentVariableCountsAsNotSet()
    {
        Assert.Equal(ConfigSource.SystemFile, With("", Etc).Find(null, null).Source);
    }

    [Fact]
    public void SystemFileComesBeforeTheCurrentDirectory()
    {
        var found = With(null, Etc, Local, Demo).Find(null, null);
        Assert.Equal((Etc, ConfigSource.SystemFile), (found.Path, found.Source));
    }

    [Fact]
    public void CurrentDirectoryComesBeforeTheDemo()
    {
        var found = With(null, Local, Demo).Find(null, null);
        Assert.Equal((Local, ConfigSource.CurrentDirectory), (found.Path, found.Source));
    }

    [Fact]
    public void DemoIsTheLastPlace()
    {
        var found = With(null, Demo).Find(null, null);
        Assert.Equal((Demo, ConfigSource.Demo, true), (found.Path, found.Source, found.Exists));
    }

    [Fact]
    public void NothingFoundNamesEveryPlaceTriedAndPointsUpAtTheDemo()
    {
        var found = With(null).Find(null, null);

        Assert.Equal((Demo, ConfigSource.NotFound, false), (found.Path, found.Source, found.Exists));
        Assert.Equal(["PGWARDEN_CONFIG (not set)", Etc, Local, Demo], found.Tried);
        Assert.Equal(
            $"no cluster configuration found (tried: --config, --dir, PGWARDEN_CONFIG (not set), {Etc}, {Local}, {Demo}); create one with `pgwarden up` or pass --config FILE",
            ClusterLocator.WhyMissing(found));
    }

    [Fact]
    public void LoadingAMissingFileIsAConfigurationErrorWithThatLine()
    {
        var found = With(null).Find(null, "/srv/none");
        var e = Assert.Throws<PgWardenException>(() => ClusterLocator.Load(found));
        Assert.Equal(ExitCodes.ConfigError, e.ExitCode);
        Assert.Equal("no cluster in /srv/none (no cluster.yaml); create one with `pgwarden up` or pass --config FILE", e.Message);
    }
}
