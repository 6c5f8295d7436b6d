using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using Npgsql;

namespace PgWarden.IntegrationTests.Infrastructure;

/// <summary>
/// A cluster of its own for one test: its own directory under /tmp and its own loopback subnet
/// 127.0.N.0/24 (nodes on .1/.2/.3, PgBouncers on .1), so no port is shared with anything else.
/// Disposing runs `pgwarden down` and then kills by PID whatever it started that is still alive.
/// </summary>
public sealed partial class TestCluster : IProbeTarget, IAsyncDisposable
{
    public const int PgPort = 5532;
    public const int ApiPort = 8008;

    /// <param name="nodeOptions">Extra keys for node N's entry (e.g. <c>nofailover: true</c>), or null.</param>
    public TestCluster(int subnet, int nodes = 3, string? extraYaml = null, int poolerHost = 1, Func<int, string?>? nodeOptions = null)
    {
        PoolerHost = poolerHost;
        Subnet = subnet;
        Dir = Path.Combine(Path.GetTempPath(), $"pgwarden-it-{subnet}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(Dir);
        File.SetUnixFileMode(Dir, (UnixFileMode)0b111_101_101);
        NodeCount = nodes;
        File.WriteAllText(ConfigFile, Yaml(subnet, nodes, extraYaml, poolerHost, nodeOptions));
    }

    public int Subnet { get; }

    /// <summary>The last octet of the PgBouncers' address (default: the first node's host).</summary>
    public int PoolerHost { get; }
    public int NodeCount { get; }
    public string Dir { get; }
    public string ConfigFile => Path.Combine(Dir, "cluster.yaml");

    public string Address(int node) => $"127.0.{Subnet}.{node}";

    public string NodeName(int node) => $"pg{node}";

    public string DataDir(int node) => Path.Combine(Dir, "nodes", NodeName(node), "data");

    public int PoolerPort(int pooler) => 6431 + pooler;

    public static string Yaml(int subnet, int nodes, string? extraYaml = null, int poolerHost = 1, Func<int, string?>? nodeOptions = null)
    {
        var lines = new List<string>
        {
            $"cluster: it{subnet}",
            "hardware: { ram: 1GB, cpus: 2, storage: ssd }",
            "postgres:",
            "  max_connections: 100",
            "database:",
            $"  app_networks: [127.0.0.1/32]",
            "nodes:",
        };
        for (var i = 1; i <= nodes; i++)
        {
            var options = nodeOptions?.Invoke(i) is { } o ? ", " + o : "";
            lines.Add($"  - {{ name: pg{i}, address: 127.0.{subnet}.{i}, port: {PgPort}, api_port: {ApiPort}{options} }}");
        }
        lines.Add("poolers:");
        lines.Add($"  - {{ name: pgb1, address: 127.0.{subnet}.{poolerHost}, port: 6432 }}");
        lines.Add($"  - {{ name: pgb2, address: 127.0.{subnet}.{poolerHost}, port: 6433 }}");
        if (extraYaml is not null)
        {
            lines.Add(extraYaml);
        }
        return string.Join('\n', lines) + "\n";
    }

    public Task<CliResult> RunAsync(params string[] args) =>
        PgWardenCli.RunAsync(args.Concat(["--dir", Dir]));

    public async Task<CliResult> UpAsync()
    {
        var result = await RunAsync("up");
        Assert.True(result.ExitCode == 0, $"pgwarden up failed: {result}\n{Logs()}");
        return result;
    }

    /// <summary>The last <paramref name="lines"/> lines of every daemon's log.</summary>
    public string Logs(int lines = 15)
    {
        var logs = Path.Combine(Dir, "logs");
        return Directory.Exists(logs)
            ? string.Join('\n', Directory.GetFiles(logs).Select(f => $"--- {Path.GetFileName(f)} ---\n{string.Join('\n', File.ReadLines(f).TakeLast(lines))}"))
            : "(no logs)";
    }

    public Secrets ReadSecrets()
    {
        var text = File.ReadAllLines(Path.Combine(Dir, "secrets.yaml"));
        string Get(string key) => text.First(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(':', 2)[1].Trim().Trim('"');
        return new Secrets(Get("superuser_password"), Get("app_password"), Get("api_token"));
    }

    public sealed record Secrets(string Superuser, string App, string ApiToken);

    /// <summary>The generated cluster CA (TLS is on unless the test's configuration says tls: disabled).</summary>
    public string CaFile => Path.Combine(Dir, "tls", "ca.crt");

    /// <summary>Whether the cluster runs with TLS: `up` generated its CA.</summary>
    public bool Tls => File.Exists(CaFile);

    /// <summary>Verifies the server against the cluster CA (verify-full) when the cluster runs with TLS.</summary>
    public NpgsqlConnectionStringBuilder WithTls(NpgsqlConnectionStringBuilder builder)
    {
        if (Tls)
        {
            builder.SslMode = SslMode.VerifyFull;
            builder.RootCertificate = CaFile;
        }
        return builder;
    }

    /// <summary>A superuser connection straight to a node (SCRAM over TCP, TLS verified against the cluster CA).</summary>
    public NpgsqlConnection Superuser(int node, string database = "bookreader") => new(WithTls(new NpgsqlConnectionStringBuilder
    {
        Host = Address(node), Port = PgPort, Username = "postgres", Password = ReadSecrets().Superuser,
        Database = database, Timeout = 5, CommandTimeout = 30, Pooling = false,
    }).ConnectionString);

    /// <inheritdoc />
    public NpgsqlConnection Direct(int node, string database = "bookreader") => new(new NpgsqlConnectionStringBuilder
    {
        Host = Address(node), Port = PgPort, Username = "postgres", Password = ReadSecrets().Superuser,
        Database = database, Timeout = 2, CommandTimeout = 5, Pooling = false,
    }.ConnectionString);

    /// <summary>The app's connection through a PgBouncer.</summary>
    public NpgsqlConnection ThroughPooler(int pooler, string database = "bookreader") => new(WithTls(new NpgsqlConnectionStringBuilder
    {
        Host = Address(PoolerHost), Port = PoolerPort(pooler), Username = "bookreader_app", Password = ReadSecrets().App,
        Database = database, Timeout = 5, CommandTimeout = 30, Pooling = false,
    }).ConnectionString);

    /// <summary>An agent's API base URL: https when the cluster runs with TLS.</summary>
    public string ApiUrl(int node) => $"{(Tls ? "https" : "http")}://{Address(node)}:{ApiPort}";

    /// <summary>An HTTP client for the agents' API that trusts the cluster CA only (and nothing when TLS is off).</summary>
    public HttpClient ApiHttp(TimeSpan? timeout = null)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        if (Tls)
        {
            var policy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
            {
                TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.Add(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(CaFile)));
            handler.SslOptions.CertificateChainPolicy = policy;
        }
        return new HttpClient(handler) { Timeout = timeout ?? TimeSpan.FromSeconds(5) };
    }

    public async Task<JsonElement> StatusJsonAsync()
    {
        var result = await RunAsync("status", "--json");
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    public async Task<JsonElement> NodeApiAsync(int node)
    {
        using var http = ApiHttp();
        return await http.GetFromJsonAsync<JsonElement>($"{ApiUrl(node)}/node");
    }

    public static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await probe() is { } value)
                {
                    return value;
                }
            }
            catch (Exception e)
            {
                last = e;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}{(last is null ? "" : $" (last error: {last.Message})")}");
    }

    public static int? ReadPid(string file) =>
        File.Exists(file) && int.TryParse(File.ReadLines(file).FirstOrDefault()?.Trim(), out var pid) ? pid : null;

    public int? PostmasterPid(int node) => ReadPid(Path.Combine(DataDir(node), "postmaster.pid"));

    /// <summary>Every PID this cluster's processes recorded: agents, poolers, postmasters, PgBouncers.</summary>
    public IEnumerable<int> RecordedPids()
    {
        var files = new List<string> { Path.Combine(Dir, "etcd.pid") };
        for (var i = 1; i <= NodeCount; i++)
        {
            files.Add(Path.Combine(Dir, "nodes", NodeName(i), "agent.pid"));
            files.Add(Path.Combine(DataDir(i), "postmaster.pid"));
        }
        foreach (var p in new[] { "pgb1", "pgb2" })
        {
            files.Add(Path.Combine(Dir, "poolers", p, "pooler.pid"));
            files.Add(Path.Combine(Dir, "poolers", p, "run", "pgbouncer.pid"));
        }
        return files.Select(ReadPid).OfType<int>();
    }

    /// <summary>Starts one node's agent alone (as `up` would, detached, logging to logs/agent-pgN.log); returns its PID.</summary>
    public int StartAgent(int node)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec setsid \"$0\" \"$@\" </dev/null >>\"$PGWARDEN_DAEMON_LOG\" 2>&1");
        psi.ArgumentList.Add(PgWardenCli.Binary);
        foreach (var a in new[] { "agent", "--config", ConfigFile, "--node", NodeName(node) })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PGWARDEN_DAEMON_LOG"] = Path.Combine(Dir, "logs", $"agent-{NodeName(node)}.log");
        using var p = System.Diagnostics.Process.Start(psi)!;
        return p.Id;
    }

    /// <summary>GET an agent API path; the status code and the body.</summary>
    public async Task<(int Status, string Body)> ApiGetAsync(int node, string path)
    {
        using var http = ApiHttp();
        using var response = await http.GetAsync($"{ApiUrl(node)}{path}");
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The leader the DCS names, as any reachable agent reports it (null: none).</summary>
    public async Task<string?> LeaderAsync()
    {
        for (var node = 1; node <= NodeCount; node++)
        {
            try
            {
                var (status, body) = await ApiGetAsync(node, "/cluster");
                if (status == 200)
                {
                    var leader = JsonDocument.Parse(body).RootElement.GetProperty("leader");
                    return leader.ValueKind == JsonValueKind.String ? leader.GetString() : null;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
        }
        throw new InvalidOperationException("no agent answered GET /cluster");
    }

    /// <summary>The PIDs of a node's postmaster children whose command line contains <paramref name="title"/> (e.g. "walreceiver").</summary>
    public IReadOnlyList<int> ServerProcesses(int node, string title)
    {
        var postmaster = PostmasterPid(node);
        if (postmaster is null)
        {
            return [];
        }
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                if (ppid == postmaster && File.ReadAllText($"/proc/{pid}/cmdline").Contains(title, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
            }
        }
        return found;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int sig);

    public static void Signal(int pid, int sig) => Kill(pid, sig);

    /// <summary>True while the process exists and is not a zombie (a zombie's cmdline is empty).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Length > 0;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static Task WaitForExitAsync(int pid, TimeSpan timeout, string what) =>
        WaitForAsync(() => Task.FromResult(IsRunning(pid) ? null : (object)true), timeout, what);

    private static bool IsOurs(int pid)
    {
        try
        {
            var cmd = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmd.Contains("pgwarden", StringComparison.Ordinal) || cmd.Contains("postgres", StringComparison.Ordinal) || cmd.Contains("pgbouncer", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync("down");
        }
        catch (Exception)
        {
            // Fall through to killing by PID.
        }
        foreach (var pid in RecordedPids())
        {
            if (IsOurs(pid))
            {
                Kill(pid, 9);
            }
        }
        await Task.Delay(200);
        if (Environment.GetEnvironmentVariable("PGWARDEN_KEEP_TEST_DIRS") == "1")
        {
            return;
        }
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
