using System.Text.RegularExpressions;

namespace PgWarden.Core.Tests;

/// <summary>
/// Hostile review of issue 13's --json envelope: in JSON mode Console.Out is stderr (JsonOutput.Begin), so
/// a command that serialises its data with Console.WriteLine sends it to stderr and prints
/// <c>"data": null</c> on stdout — `history --json` and `config show --json` did exactly that.
/// </summary>
public class HostileReviewJsonTests
{
    private static string CommandsDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "src", "PgWarden.Cli", "Commands");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("src/PgWarden.Cli/Commands above the test assembly");
    }

    [Fact]
    public void NoCommandWritesItsJsonDataToTheConsoleInsteadOfTheEnvelope()
    {
        var offenders = Directory.GetFiles(CommandsDir(), "*.cs")
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"Console\.(Out\.)?Write(Line)?\(\s*JsonSerializer\.Serialize"))
            .Select(Path.GetFileName)
            .ToList();
        Assert.Empty(offenders);
    }
}
