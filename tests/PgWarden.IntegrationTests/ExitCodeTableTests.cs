using System.Reflection;
using System.Text.RegularExpressions;
using PgWarden.Core.Errors;
using PgWarden.IntegrationTests.Infrastructure;

namespace PgWarden.IntegrationTests;

/// <summary>
/// README's exit-code table is what the binary does: every command of README's command table is run with a
/// bad command line, and — where one applies — with something that does not exist, against a cluster
/// directory that has a configuration and secrets but nothing running (so "not running" is what commands
/// that need the cluster answer). Nothing is started: no PostgreSQL, no agent, no etcd; every address is
/// in 127.0.231.0/24, which no other test uses. Each error is one line without a .NET type name.
/// </summary>
public sealed partial class ExitCodeTableTests : IDisposable
{
    private const int Subnet = 231;

    private readonly string _dir;
    private readonly string _config;

    public ExitCodeTableTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"pgwarden-exitcodes-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(_dir);
        _config = Path.Combine(_dir, "cluster.yaml");
        File.WriteAllText(_config, TestCluster.Yaml(Subnet, 3, "backup:\n  repository: { type: fs, path: repo }\n"));
        // As `pgwarden up` leaves it after `down`: secrets exist, nothing runs.
        var secrets = Path.Combine(_dir, "secrets.yaml");
        File.WriteAllText(secrets, string.Join('\n', new[] { "superuser_password", "replication_password", "app_password", "pooler_admin_password", "api_token" }
            .Select(k => $"{k}: \"not-a-real-{k.Replace('_', '-')}\"")) + "\n");
        File.SetUnixFileMode(secrets, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>What a call is expected to exit with: a name of README's exit-code table, or of check's Nagios codes.</summary>
    private sealed record Case(string Command, string[] Args, string Expected);

    /// <summary>
    /// The cases, by README command. <c>{dir}</c>, <c>{config}</c> and <c>{missing}</c> are replaced by the
    /// cluster directory, its configuration file and a path that does not exist.
    /// </summary>
    private static readonly Case[] Cases =
    [
        new("up", ["up", "--timeout", "abc", "--dir", "{dir}"], "usage"),
        new("down", ["down", "--bogus", "--dir", "{dir}"], "usage"),
        new("down", ["down", "--purge", "--dir", "{dir}"], "refused"),
        new("down", ["down", "--dir", "{missing}"], "configuration"),
        new("status", ["status", "--jsno", "--dir", "{dir}"], "usage"),
        new("status", ["status", "--dir", "{dir}"], "not running"),
        new("tune", ["tune", "--connections", "abc"], "usage"),
        new("tune", ["tune", "--storage", "floppy"], "usage"),
        new("config render", ["config", "render", "--dir", "{dir}"], "usage"),
        new("config render", ["config", "render", "--node", "pg9", "--dir", "{dir}"], "not found"),
        new("config check", ["config", "check", "extra", "--dir", "{dir}"], "usage"),
        new("config check", ["config", "check", "--config", "{missing}"], "configuration"),
        new("config show", ["config", "show", "--bogus", "--dir", "{dir}"], "usage"),
        new("config show", ["config", "show", "--dir", "{dir}"], "not running"),
        new("config apply", ["config", "apply", "--dir", "{dir}"], "usage"),
        new("config apply", ["config", "apply", "--set", "ttl=abc", "--yes", "--dir", "{dir}"], "usage"),
        new("config apply", ["config", "apply", "--set", "work_mem=16MB", "--dir", "{dir}"], "refused"),
        new("config apply", ["config", "apply", "{missing}", "--yes", "--dir", "{dir}"], "not found"),
        new("config apply", ["config", "apply", "--set", "work_mem=16MB", "--yes", "--dir", "{dir}"], "not running"),
        new("secrets export", ["secrets", "export", "--role", "admin", "--output", "{missing}", "--dir", "{dir}"], "usage"),
        new("secrets export", ["secrets", "export", "--role", "node", "--output", "{missing}", "--dir", "{dir}"], "usage"),
        new("secrets export", ["secrets", "export", "--role", "node", "--name", "pg9", "--output", "{missing}", "--dir", "{dir}"], "not found"),
        new("secrets export", ["secrets", "export", "--role", "etcd", "--output", "{dir}", "--dir", "{dir}"], "refused"),
        // The fixture's secrets are from before etcd authentication: no etcd passwords to export yet.
        new("secrets export", ["secrets", "export", "--role", "etcd", "--output", "{missing}", "--dir", "{dir}"], "configuration"),
        new("migrate", ["migrate", "--bogus", "--dir", "{dir}"], "usage"),
        new("migrate", ["migrate", "--dir", "{dir}"], "not running"),
        new("report", ["report", "sizes", "--limit", "abc", "--dir", "{dir}"], "usage"),
        new("report", ["report", "nosuch", "--dir", "{dir}"], "not found"),
        new("report", ["report", "sizes", "--dir", "{dir}"], "not running"),
        new("kill", ["kill", "idle", "--older-than", "soon", "--dir", "{dir}"], "usage"),
        new("kill", ["kill", "idle", "--dir", "{dir}"], "refused"),
        new("kill", ["kill", "idle", "--node", "pg9", "--yes", "--dir", "{dir}"], "not found"),
        new("kill", ["kill", "idle", "--yes", "--dir", "{dir}"], "not running"),
        new("vacuum", ["vacuum", "--bogus", "--dir", "{dir}"], "usage"),
        new("vacuum", ["vacuum", "--full", "--table", "t", "--dir", "{dir}"], "refused"),
        new("vacuum", ["vacuum", "--node", "pg9", "--dir", "{dir}"], "not found"),
        new("vacuum", ["vacuum", "--dir", "{dir}"], "not running"),
        new("reindex", ["reindex", "--dir", "{dir}"], "usage"),
        new("reindex", ["reindex", "some_index", "--dir", "{dir}"], "refused"),
        new("reindex", ["reindex", "--concurrently", "some_index", "--node", "pg9", "--dir", "{dir}"], "not found"),
        new("reindex", ["reindex", "--concurrently", "some_index", "--dir", "{dir}"], "not running"),
        new("check", ["check", "hourly", "--dir", "{dir}"], "UNKNOWN"),
        new("check", ["check", "daily", "--dir", "{dir}"], "UNKNOWN"),
        new("check", ["check", "weekly", "--dir", "{missing}"], "UNKNOWN"),
        new("diagnose", ["diagnose", "everything", "--dir", "{dir}"], "usage"),
        new("diagnose", ["diagnose", "disk", "--dir", "{dir}"], "not running"),
        new("switchover", ["switchover", "--timeout", "0", "--dir", "{dir}"], "usage"),
        new("switchover", ["switchover", "--dir", "{dir}"], "refused"),
        new("switchover", ["switchover", "--to", "pg9", "--dir", "{dir}"], "not found"),
        new("switchover", ["switchover", "--yes", "--dir", "{dir}"], "not running"),
        new("switchover", ["switchover", "--at", "whenever", "--yes", "--dir", "{dir}"], "usage"),
        new("switchover", ["switchover", "--cancel", "--to", "pg2", "--dir", "{dir}"], "usage"),
        new("switchover", ["switchover", "--at", "+10m", "--dir", "{dir}"], "refused"),
        new("switchover", ["switchover", "--cancel", "--dir", "{dir}"], "not running"),
        new("failover", ["failover", "--dir", "{dir}"], "usage"),
        new("failover", ["failover", "--to", "pg2", "--dir", "{dir}"], "refused"),
        new("failover", ["failover", "--to", "pg9", "--dir", "{dir}"], "not found"),
        new("failover", ["failover", "--to", "pg2", "--yes", "--dir", "{dir}"], "not running"),
        new("pause", ["pause", "now", "--dir", "{dir}"], "usage"),
        new("pause", ["pause", "--dir", "{dir}"], "not running"),
        new("resume", ["resume", "now", "--dir", "{dir}"], "usage"),
        new("resume", ["resume", "--dir", "{dir}"], "not running"),
        new("reinit", ["reinit", "--dir", "{dir}"], "usage"),
        new("reinit", ["reinit", "pg2", "--dir", "{dir}"], "refused"),
        new("reinit", ["reinit", "pg9", "--dir", "{dir}"], "not found"),
        new("reinit", ["reinit", "pg2", "--yes", "--dir", "{dir}"], "not running"),
        new("restart", ["restart", "--dir", "{dir}"], "usage"),
        new("restart", ["restart", "pg2", "--rolling", "--dir", "{dir}"], "usage"),
        new("restart", ["restart", "pg2", "--dir", "{dir}"], "refused"),
        new("restart", ["restart", "pg9", "--dir", "{dir}"], "not found"),
        new("restart", ["restart", "pg2", "--yes", "--dir", "{dir}"], "not running"),
        new("reload", ["reload", "pg1", "pg2", "--dir", "{dir}"], "usage"),
        new("reload", ["reload", "pg9", "--dir", "{dir}"], "not found"),
        new("reload", ["reload", "--dir", "{dir}"], "not running"),
        new("history", ["history", "--bogus", "--dir", "{dir}"], "usage"),
        new("history", ["history", "--dir", "{dir}"], "not running"),
        new("agent", ["agent", "--config", "{config}"], "usage"),
        new("agent", ["agent", "--config", "{config}", "--node", "pg9"], "not found"),
        new("pooler", ["pooler", "--config", "{config}"], "usage"),
        new("pooler", ["pooler", "--config", "{config}", "--name", "pgb9"], "not found"),
        new("dcs-server", ["dcs-server", "--bogus"], "usage"),
        new("dcs-server", ["dcs-server", "--config", "{missing}"], "configuration"),
        new("watchdog", ["watchdog"], "usage"),
        new("install", ["install", "--role", "database", "--name", "pg1", "--config", "{config}"], "usage"),
        new("install", ["install", "--role", "node", "--name", "pg9", "--config", "{config}", "--output", "{missing}"], "not found"),
        new("install", ["install", "--role", "node", "--name", "pg1", "--config", "{missing}", "--output", "{missing}"], "configuration"),
        new("wal-push", ["wal-push", "--dir", "{dir}"], "usage"),
        new("wal-push", ["wal-push", "--dir", "{dir}", "--data-dir", "{missing}", "pg_wal/000000010000000000000001"], "not found"),
        new("wal-fetch", ["wal-fetch", "--dir", "{dir}", "000000010000000000000001"], "usage"),
        new("backup physical", ["backup", "physical", "--archive-wait", "0", "--dir", "{dir}"], "usage"),
        new("backup physical", ["backup", "physical", "--dir", "{dir}"], "not running"),
        new("backup logical", ["backup", "logical", "--jobs", "0", "--dir", "{dir}"], "usage"),
        new("backup logical", ["backup", "logical", "--dir", "{dir}"], "not running"),
        new("backup list", ["backup", "list", "--bogus", "--dir", "{dir}"], "usage"),
        new("backup list", ["backup", "list", "--dir", "{dir}"], "ok"),
        new("backup verify", ["backup", "verfy", "latest", "--dir", "{dir}"], "usage"),
        new("backup verify", ["backup", "verify", "nosuch", "--dir", "{dir}"], "not found"),
        new("backup prune", ["backup", "prune", "--keep-count", "0", "--dir", "{dir}"], "usage"),
        new("backup rotate-key", ["backup", "rotate-key", "--bogus", "--dir", "{dir}"], "usage"),
        new("backup rotate-key", ["backup", "rotate-key", "--prepare", "--keep-old", "--dir", "{dir}"], "usage"),
        new("restore", ["restore", "--dir", "{dir}"], "usage"),
        new("restore", ["restore", "--to", "{missing}", "--port", "abc", "--dir", "{dir}"], "usage"),
        new("restore", ["restore", "--to", "{missing}", "--dir", "{dir}"], "not found"),
        new("restore", ["restore", "--cluster", "--dir", "{dir}"], "refused"),
        new("restore", ["restore", "--cluster", "--node", "pg9", "--yes", "--dir", "{dir}"], "not found"),
        new("restore-point", ["restore-point", "", "--dir", "{dir}"], "usage"),
        new("restore-point", ["restore-point", "before-upgrade", "--dir", "{dir}"], "not running"),
        new("restore-logical", ["restore-logical", "latest", "--dir", "{dir}"], "usage"),
        new("restore-logical", ["restore-logical", "nosuch", "--db", "copy", "--dir", "{dir}"], "not found"),
    ];

    [Fact]
    public void EveryCommandOfTheReadmeHasABadUsageCase()
    {
        var commands = ReadmeCommands();
        Assert.True(commands.Count >= 30, $"README's command table looks unparsed: {string.Join(", ", commands)}");
        var missing = commands.Where(c => !Cases.Any(k => k.Command == c && k.Expected is "usage" or "UNKNOWN")).ToList();
        Assert.True(missing.Count == 0, $"commands in README's table without a bad-usage case here: {string.Join(", ", missing)}");
        var unknown = Cases.Select(k => k.Command).Distinct().Where(c => !commands.Contains(c)).ToList();
        Assert.True(unknown.Count == 0, $"cases for commands README's table does not list: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void TheReadmeTableIsTheCodes()
    {
        var table = ReadmeExitCodes();
        var named = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (int)f.GetValue(null)!).Order().ToList();
        Assert.Equal(named, table.Values.Order().ToList());
        Assert.Equal(ExitCodes.Usage, table["usage"]);
        Assert.Equal(ExitCodes.NotRunning, table["not running"]);
        Assert.Equal(ExitCodes.NotFound, table["not found"]);
        var nagios = ReadmeCheckCodes();
        Assert.Equal(CheckExitCodes.Ok, nagios["OK"]);
        Assert.Equal(CheckExitCodes.Warning, nagios["WARN"]);
        Assert.Equal(CheckExitCodes.Critical, nagios["FAIL"]);
        Assert.Equal(CheckExitCodes.Unknown, nagios["UNKNOWN"]);
    }

    [Fact]
    public async Task EveryCaseExitsWithItsDocumentedCodeAndOneCleanLine()
    {
        var codes = ReadmeExitCodes();
        foreach (var (name, code) in ReadmeCheckCodes())
        {
            codes[name] = code;
        }
        var missing = Path.Combine(_dir, "does-not-exist");
        var failures = new List<string>();
        foreach (var c in Cases)
        {
            var args = c.Args.Select(a => a.Replace("{dir}", _dir).Replace("{config}", _config).Replace("{missing}", missing)).ToArray();
            var result = await PgWardenCli.RunAsync(args, TimeSpan.FromSeconds(60));
            var expected = codes[c.Expected];
            var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("pgwarden: building", StringComparison.Ordinal)).ToList();
            if (result.ExitCode != expected)
            {
                failures.Add($"pgwarden {string.Join(' ', c.Args)}: expected {expected} ({c.Expected}), got {result.ExitCode}: {string.Join(" | ", lines)}");
            }
            else if (expected != 0 && !IsOneCleanLine(lines, result.Stdout))
            {
                failures.Add($"pgwarden {string.Join(' ', c.Args)}: expected one clean error line: {string.Join(" | ", lines)}");
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task ParseErrorsAreWordsAndTyposGetASuggestion()
    {
        var port = await PgWardenCli.RunAsync("restore", "--to", "/nonexistent/x", "--port", "abc", "--dir", _dir);
        Assert.Contains("--port: 'abc' is not a whole number", port.Stderr);
        var typo = await PgWardenCli.RunAsync("stauts");
        Assert.Contains("unknown command 'stauts'; did you mean `status`?", typo.Stderr);
        var period = await PgWardenCli.RunAsync("check", "hourly", "--dir", _dir);
        Assert.Contains("'hourly' is not one of daily, weekly, monthly, archive", period.Stderr);
    }

    /// <summary>
    /// An error is one line "pgwarden: error: …" without .NET in it; a report that states the problem itself
    /// (`status` of a stopped cluster prints every node as unreachable) may have no error line.
    /// </summary>
    private static bool IsOneCleanLine(List<string> stderr, string stdout) =>
        stderr.Count == 0 ? stdout.Trim().Length > 0
        : stderr.Count == 1 && stderr[0].StartsWith("pgwarden: error: ", StringComparison.Ordinal) && !TypeName().IsMatch(stderr[0]);

    /// <summary>README's exit-code table: name → code (the rows "| 2 | usage | … |" under "### Exit codes").</summary>
    private static Dictionary<string, int> ReadmeExitCodes()
    {
        var section = Section("### Exit codes");
        var rows = ExitRow().Matches(section).ToDictionary(m => m.Groups[2].Value.Trim(), m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(rows.Count >= 10, $"README's exit-code table looks unparsed: {section}");
        return rows;
    }

    /// <summary>check's Nagios codes from README ("0 OK, 1 WARN, 2 FAIL (critical), 3 UNKNOWN").</summary>
    private static Dictionary<string, int> ReadmeCheckCodes()
    {
        var section = Section("### Exit codes");
        var sentence = section[section.IndexOf("`check` alone", StringComparison.Ordinal)..];
        return NagiosCode().Matches(sentence).Take(4).ToDictionary(m => m.Groups[2].Value, m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The commands of README's command table: the leading words of each first-column code span ("backup verify", "reinit").</summary>
    private static List<string> ReadmeCommands()
    {
        var section = Section("## Commands");
        var commands = new List<string>();
        foreach (var line in section.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            var firstCell = line.Split(" | ")[0];
            foreach (Match span in CodeSpan().Matches(firstCell))
            {
                var words = span.Groups[1].Value.Split(' ').TakeWhile(w => CommandWord().IsMatch(w)).ToList();
                var command = string.Join(' ', words);
                if (command.Length > 0 && !commands.Contains(command))
                {
                    commands.Add(command);
                }
            }
        }
        return commands;
    }

    private static string Section(string heading)
    {
        var readme = File.ReadAllText(Path.Combine(PgWardenCli.RepoRoot, "README.md"));
        var start = readme.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README has no '{heading}' section");
        var end = readme.IndexOf("\n#", start + heading.Length + 2, StringComparison.Ordinal);
        return readme[start..(end < 0 ? readme.Length : end)];
    }

    [GeneratedRegex(@"^\| (\d+) \| ([a-z ]+) \|", RegexOptions.Multiline)]
    private static partial Regex ExitRow();

    [GeneratedRegex(@"(\d) (OK|WARN|FAIL|UNKNOWN)")]
    private static partial Regex NagiosCode();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex CodeSpan();

    /// <summary>A command word: lower-case letters and dashes only (not an option, a placeholder or an alternative list).</summary>
    [GeneratedRegex(@"^[a-z][a-z-]*$")]
    private static partial Regex CommandWord();

    /// <summary>.NET leaking into a message: a type name, a generic arity, an exception's name or a stack frame.</summary>
    [GeneratedRegex(@"System\.[A-Z]|`\d|Exception\b|\s+at [A-Z]")]
    private static partial Regex TypeName();
}
