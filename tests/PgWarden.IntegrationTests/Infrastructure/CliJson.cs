using System.Text.Json;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>Reads the envelope `pgwarden … --json` prints ({command, ok, exit_code, data, error}).</summary>
public static class CliJson
{
    /// <summary>The whole envelope; fails unless stdout is exactly one JSON document.</summary>
    public static JsonElement Envelope(string stdout) => JsonDocument.Parse(stdout).RootElement.Clone();

    /// <summary>The envelope's <c>data</c>.</summary>
    public static JsonElement Data(string stdout) => Envelope(stdout).GetProperty("data");

    /// <summary>The backups of `backup list --json` (<c>data.backups</c>).</summary>
    public static IEnumerable<JsonElement> Backups(string stdout) => Data(stdout).GetProperty("backups").EnumerateArray();
}
