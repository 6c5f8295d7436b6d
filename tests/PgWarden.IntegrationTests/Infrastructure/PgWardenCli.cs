using System.Diagnostics;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>Runs the built `pgwarden` binary (built by ./test.sh into .build/pgwarden) as a user would.</summary>
public static class PgWardenCli
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Binary => Path.Combine(RepoRoot, ".build", "pgwarden", "pgwarden");

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PgWarden.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (PgWarden.sln)");
    }

    /// <param name="onStderrLine">Called with each stderr line as the process writes it (e.g. to act on a progress line before the command ends).</param>
    public static async Task<CliResult> RunAsync(IEnumerable<string> args, TimeSpan? timeout = null, Action<string>? onStderrLine = null)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: run ./test.sh (it builds the tool first)");
        }
        var psi = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = onStderrLine is null ? p.StandardError.ReadToEndAsync() : ReadLinesAsync(p.StandardError, onStderrLine);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(4));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"pgwarden {string.Join(' ', args)} did not finish in time; output so far: {await stdout}");
        }
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync((IEnumerable<string>)args);

    private static async Task<string> ReadLinesAsync(StreamReader reader, Action<string> onLine)
    {
        var all = new System.Text.StringBuilder();
        while (await reader.ReadLineAsync() is { } line)
        {
            all.Append(line).Append('\n');
            onLine(line);
        }
        return all.ToString();
    }
}
