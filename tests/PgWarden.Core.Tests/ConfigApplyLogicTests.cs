using System.Collections.Immutable;
using PgWarden.Core.Config;
using PgWarden.Core.Dcs;
using PgWarden.Core.Errors;
using PgWarden.Core.Ha;
using PgWarden.Core.Parameters;

namespace PgWarden.Core.Tests;

/// <summary>`config apply`: parsing, validation against pg_settings, the difference shown, and `history`'s merge.</summary>
public class ConfigApplyLogicTests
{
    private static readonly Dictionary<string, PgSetting> Catalog = new[]
    {
        new PgSetting("work_mem", "4096", "kB", "user", "integer", "64", "2147483647", [], false),
        new PgSetting("shared_buffers", "16384", "8kB", "postmaster", "integer", "16", "1073741823", [], false),
        new PgSetting("log_min_duration_statement", "1000", "ms", "superuser", "integer", "-1", "2147483647", [], false),
        new PgSetting("checkpoint_timeout", "900", "s", "sighup", "integer", "30", "86400", [], false),
        new PgSetting("random_page_cost", "1.1", null, "user", "real", "0", "1.79769e+308", [], false),
        new PgSetting("log_connections", "on", null, "superuser-backend", "bool", null, null, [], false),
        new PgSetting("wal_compression", "off", null, "superuser", "enum", null, null, ["pglz", "lz4", "zstd", "on", "off"], false),
        new PgSetting("application_name", "", null, "user", "string", null, null, [], false),
        new PgSetting("max_wal_senders", "10", null, "postmaster", "integer", "0", "262143", [], false),
        new PgSetting("block_size", "8192", null, "internal", "integer", "8192", "8192", [], false),
    }.ToDictionary(s => s.Name);

    private static ConfigPatch Set(params string[] assignments) => ConfigPatch.FromCommandLine(assignments, []);

    [Theory]
    [InlineData("work_mem", "16MB")]
    [InlineData("work_mem", "8192")]
    [InlineData("work_mem", "1.5GB")]
    [InlineData("shared_buffers", "256MB")]
    [InlineData("log_min_duration_statement", "-1")]
    [InlineData("log_min_duration_statement", "2s")]
    [InlineData("checkpoint_timeout", "30min")]
    [InlineData("random_page_cost", "4")]
    [InlineData("log_connections", "off")]
    [InlineData("wal_compression", "LZ4")]
    [InlineData("application_name", "anything at all")]
    public void ValidValuesPass(string name, string value) => Assert.Null(ParameterValue.WhyInvalid(Catalog[name], value));

    [Theory]
    [InlineData("work_mem", "16XB", "unit 'XB' is not valid")]
    [InlineData("work_mem", "10kB", "out of range 64")]
    [InlineData("work_mem", "lots", "not a number")]
    [InlineData("work_mem", "1.5", "not an integer")]
    [InlineData("checkpoint_timeout", "10s", "out of range 30")]
    [InlineData("checkpoint_timeout", "5MB", "unit 'MB' is not valid")]
    [InlineData("random_page_cost", "2ms", "takes a plain number")]
    [InlineData("log_connections", "maybe", "not a boolean")]
    [InlineData("wal_compression", "gzip", "not one of pglz, lz4, zstd, on, off")]
    public void InvalidValuesSayWhy(string name, string value, string expected) =>
        Assert.Contains(expected, ParameterValue.WhyInvalid(Catalog[name], value));

    [Fact]
    public void TheDifferenceSaysHowEachChangeTakesEffect()
    {
        var plan = ConfigPlan.Build(new DcsConfig(), Set("work_mem=16MB", "shared_buffers=256MB", "loop_wait=2", "ttl=10"), Catalog);
        var lines = plan.Changes.Select(c => c.Describe()).ToList();
        Assert.Contains("ttl: 5 → 10    [DCS setting]", lines);
        Assert.Contains("loop_wait: 1 → 2    [DCS setting]", lines);
        Assert.Contains("work_mem: 4MB → 16MB    [reload]", lines);
        Assert.Contains("shared_buffers: 128MB → 256MB    [restart needed]", lines);
        Assert.Equal(["shared_buffers"], plan.RestartNeeded);
        Assert.Equal("16MB", plan.Next.Parameters["work_mem"]);
        Assert.Equal(10, plan.Next.Ttl);
    }

    [Fact]
    public void AValueAlreadyInTheDcsIsNoChange()
    {
        var current = new DcsConfig { Parameters = ImmutableSortedDictionary<string, string>.Empty.Add("work_mem", "16MB") };
        Assert.Empty(ConfigPlan.Build(current, Set("work_mem=16MB"), Catalog).Changes);
    }

    [Fact]
    public void ResetRemovesAParameterFromTheDcs()
    {
        var current = new DcsConfig { Parameters = ImmutableSortedDictionary<string, string>.Empty.Add("work_mem", "16MB") };
        var plan = ConfigPlan.Build(current, ConfigPatch.FromCommandLine([], ["work_mem"]), Catalog);
        Assert.Empty(plan.Next.Parameters);
        Assert.Null(Assert.Single(plan.Changes).To);
    }

    [Fact]
    public void AnUnknownParameterIsNotFoundWithASuggestion()
    {
        var e = Assert.Throws<PgWardenException>(() => ConfigPlan.Build(new DcsConfig(), Set("work_mme=16MB"), Catalog));
        Assert.Equal(ExitCodes.NotFound, e.ExitCode);
        Assert.Contains("unknown parameter work_mme (did you mean work_mem?)", e.Message);
    }

    [Theory]
    [InlineData("primary_conninfo=host=evil")]
    [InlineData("archive_command=/bin/true")]
    [InlineData("port=6000")]
    [InlineData("listen_addresses=*")]
    [InlineData("hba_file=/tmp/hba")]
    [InlineData("synchronous_standby_names=*")]
    public void ParametersPgWardenOwnsAreRefused(string assignment)
    {
        var e = Assert.Throws<PgWardenException>(() => ConfigPlan.Build(new DcsConfig(), Set(assignment), Catalog));
        Assert.Equal(ExitCodes.UnsafeRefused, e.ExitCode);
        Assert.Contains("managed by PgWarden", e.Message);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnceInOneLine()
    {
        var e = Assert.Throws<PgWardenException>(() => ConfigPlan.Build(new DcsConfig(), Set("work_mem=lots", "nosuch=1", "port=1", "loop_wait=9"), Catalog));
        Assert.Equal(ExitCodes.UnsafeRefused, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("work_mem: 'lots'", e.Message);
        Assert.Contains("unknown parameter nosuch", e.Message);
        Assert.Contains("port is managed", e.Message);
        Assert.Contains("loop_wait 9 s is too long", e.Message);
    }

    [Fact]
    public void AnInternalParameterCannotBeSet() =>
        Assert.Contains("context internal", Assert.Throws<PgWardenException>(() => ConfigPlan.Build(new DcsConfig(), Set("block_size=8192"), Catalog)).Message);

    [Fact]
    public void BadValuesAreUsageErrors() =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<PgWardenException>(() => ConfigPlan.Build(new DcsConfig(), Set("work_mem=lots"), Catalog)).ExitCode);

    [Theory]
    [InlineData("work_mem")]
    [InlineData("=16MB")]
    [InlineData("ttl=ten")]
    [InlineData("synchronous_mode=perhaps")]
    public void MalformedAssignmentsAreUsageErrors(string assignment) =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<PgWardenException>(() => Set(assignment)).ExitCode);

    [Fact]
    public void AFileHasTheClusterConfigurationsShape()
    {
        var patch = ConfigPatch.FromYaml("""
            dcs:
              loop_wait: 2
              synchronous_mode: on
            postgres:
              parameters:
                work_mem: 16MB
                random_page_cost: ~
                application_name: ''
            """, "change.yaml");
        Assert.Equal(2, patch.LoopWait);
        Assert.True(patch.SynchronousMode);
        Assert.Equal("16MB", patch.Parameters["work_mem"]);
        Assert.Null(patch.Parameters["random_page_cost"]);
        Assert.Equal("", patch.Parameters["application_name"]);
    }

    [Theory]
    [InlineData("nodes: []", "line 1: nodes: unknown key")]
    [InlineData("dcs:\n  ttl: 5\n  loop: 2", "line 3: dcs.loop: unknown key")]
    [InlineData("dcs:\n\tttl: 5", "not valid YAML")]
    public void AFileWithAMistakeNamesTheLine(string yaml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigPatch.FromYaml(yaml, "change.yaml"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TheFingerprintIgnoresOrderAndTellsSetsApart()
    {
        var a = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" };
        var b = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" };
        Assert.Equal(DynamicParameters.Fingerprint(a), DynamicParameters.Fingerprint(b));
        Assert.NotEqual(DynamicParameters.Fingerprint(a), DynamicParameters.Fingerprint(new Dictionary<string, string> { ["a"] = "1", ["b"] = "3" }));
        Assert.Equal("", DynamicParameters.Fingerprint(new Dictionary<string, string>()));
    }

    [Theory]
    [InlineData("16384", "8kB", "128MB")]
    [InlineData("900", "s", "15min")]
    [InlineData("1000", "ms", "1s")]
    [InlineData("4096", "kB", "4MB")]
    [InlineData("-1", "ms", "-1")]
    [InlineData("1500", "ms", "1500ms")]
    public void SettingsAreShownInTheLargestExactUnit(string setting, string unit, string expected) =>
        Assert.Equal(expected, ParameterValue.Describe(setting, unit));

    [Fact]
    public void HistoryMergesTheTimelineFileWithTheDcsRecord()
    {
        var file = "1\t0/3000060\tno recovery target specified\n\n2\t0/5000000\tno recovery target specified\n";
        var recorded = new[] { new TimelineHistoryEntry(3, 0x5000000, "pg3", "switchover from pg2", new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero)) };
        var rows = TimelineChange.Merge(3, file, recorded);
        Assert.Equal([1L, 2L, 3L], rows.Select(r => r.Timeline));
        Assert.Equal("initdb (the cluster's first timeline)", rows[0].Reason);
        Assert.Equal((1L, 0x3000060L), (rows[1].Parent!.Value, rows[1].SwitchLsn!.Value));
        Assert.Equal("no recovery target specified", rows[1].Reason);
        Assert.Null(rows[1].Leader);
        Assert.Equal(("pg3", "switchover from pg2", 2L), (rows[2].Leader, rows[2].Reason, rows[2].Parent!.Value));
    }

    [Fact]
    public void HistoryOfANewClusterIsItsFirstTimeline() =>
        Assert.Equal(1, Assert.Single(TimelineChange.Merge(1, null, [])).Timeline);
}
