using System.CommandLine;
using System.Text.Json;
using PgWarden.Backup.Catalog;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Api;
using PgWarden.Core.Tuning;

namespace PgWarden.Core.Tests;

/// <summary>The one `--json` envelope: its keys, their order and case, errors, and the data of `backup list`.</summary>
public sealed class JsonEnvelopeTests
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Fact]
    public void AResultHasTheFiveKeysInOrderAndNoError()
    {
        var json = Parse(CommandEnvelope.Result("backup list", 0, new { BackupCount = 2, Storage = StorageKind.Ssd }).ToJson());
        Assert.Equal(["command", "ok", "exit_code", "data", "error"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("backup list", json.GetProperty("command").GetString());
        Assert.True(json.GetProperty("ok").GetBoolean());
        Assert.Equal(0, json.GetProperty("exit_code").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("error").ValueKind);
        // Nested names are snake_case, enums snake_case strings.
        Assert.Equal(2, json.GetProperty("data").GetProperty("backup_count").GetInt32());
        Assert.Equal("ssd", json.GetProperty("data").GetProperty("storage").GetString());
    }

    [Fact]
    public void ANonZeroResultIsNotOkButHasNoError()
    {
        // `status` of a degraded cluster, `check` with a warning: the command did its work, the verdict is the exit code.
        var json = Parse(CommandEnvelope.Result("status", 1, new { health = "degraded" }).ToJson());
        Assert.False(json.GetProperty("ok").GetBoolean());
        Assert.Equal(1, json.GetProperty("exit_code").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("error").ValueKind);
        Assert.Equal("degraded", json.GetProperty("data").GetProperty("health").GetString());
    }

    [Fact]
    public void AFailureCarriesTheMessageAndExitCodeAndKeepsDataRecordedBefore()
    {
        var json = Parse(CommandEnvelope.Failure("backup verify", 10, "backup x FAILED verification: base.tar.zst: checksum mismatch", new { ok = false }).ToJson());
        Assert.False(json.GetProperty("ok").GetBoolean());
        Assert.Equal(10, json.GetProperty("exit_code").GetInt32());
        Assert.Equal(["message", "exit_code"], json.GetProperty("error").EnumerateObject().Select(p => p.Name));
        Assert.Equal(10, json.GetProperty("error").GetProperty("exit_code").GetInt32());
        Assert.StartsWith("backup x FAILED", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(json.GetProperty("data").GetProperty("ok").GetBoolean());
        Assert.Equal(JsonValueKind.Null, Parse(CommandEnvelope.Failure("status", 8, "down").ToJson()).GetProperty("data").ValueKind);
    }

    [Fact]
    public void AFailureNeverExitsZero() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CommandEnvelope.Failure("status", 0, "no"));

    [Fact]
    public void NonAsciiAndQuotesStayReadable()
    {
        var json = CommandEnvelope.Result("report", 0, new { name = "Größe \"x\"" }).ToJson();
        Assert.Contains("Größe", json, StringComparison.Ordinal);
        Assert.Equal("Größe \"x\"", Parse(json).GetProperty("data").GetProperty("name").GetString());
    }

    private static BackupManifest Manifest(string type) => new()
    {
        Id = $"20251030T120000Z-{type}", Type = type, Cluster = "c", SystemId = "7", SourceNode = "pg1",
        StartTime = DateTimeOffset.Parse("2025-10-30T12:00:00Z"), StopTime = DateTimeOffset.Parse("2025-10-30T12:00:05Z"),
        Timeline = type == "physical" ? 3u : 0u, StartLsn = type == "physical" ? "0/3000028" : null, StopLsn = type == "physical" ? "0/3000100" : null,
        Database = type == "logical" ? "bookreader" : null, Format = type == "logical" ? "directory" : null,
    };

    [Fact]
    public void BackupListGivesNoTimelineForALogicalBackup()
    {
        var logical = Parse(JsonSerializer.Serialize(BackupListEntry.From(Manifest("logical")), Json.Options));
        Assert.Equal(JsonValueKind.Null, logical.GetProperty("timeline").ValueKind);
        Assert.Equal("bookreader", logical.GetProperty("database").GetString());
        Assert.Equal("complete", logical.GetProperty("status").GetString());
        var physical = Parse(JsonSerializer.Serialize(BackupListEntry.From(Manifest("physical")), Json.Options));
        Assert.Equal(3, physical.GetProperty("timeline").GetInt32());
        Assert.Equal("0/3000028", physical.GetProperty("start_lsn").GetString());
        Assert.Equal(JsonValueKind.Null, physical.GetProperty("database").ValueKind);
        Assert.Equal(5.0, physical.GetProperty("duration_seconds").GetDouble());
        var incomplete = Parse(JsonSerializer.Serialize(BackupListEntry.From(new IncompleteBackup("7", "20251030T130000Z-physical", 2, 100, DateTimeOffset.UnixEpoch, Running: true)), Json.Options));
        Assert.Equal("running", incomplete.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, incomplete.GetProperty("timeline").ValueKind);
        // One shape for every entry.
        Assert.Equal(logical.EnumerateObject().Select(p => p.Name), physical.EnumerateObject().Select(p => p.Name));
        Assert.Equal(logical.EnumerateObject().Select(p => p.Name), incomplete.EnumerateObject().Select(p => p.Name));
    }

    private static ParseResult ParseCli(params string[] args)
    {
        var list = new Command("list") { new Option<bool>("--json") };
        var backup = new Command("backup") { list };
        var tune = new Command("tune");
        return new RootCommand("test") { backup, tune }.Parse(args);
    }

    [Fact]
    public void TheCommandIsItsPathWithoutTheProgram()
    {
        Assert.Equal("backup list", JsonOutput.CommandPath(ParseCli("backup", "list", "--json")));
        Assert.Equal("tune", JsonOutput.CommandPath(ParseCli("tune")));
    }

    [Fact]
    public void JsonModeOnlyWhenTheCommandHasTheOptionAndItWasGiven()
    {
        Assert.True(JsonOutput.Requested(ParseCli("backup", "list", "--json")));
        Assert.False(JsonOutput.Requested(ParseCli("backup", "list")));
        Assert.False(JsonOutput.Requested(ParseCli("tune")));
    }
}
