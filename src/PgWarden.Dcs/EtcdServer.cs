using System.Diagnostics;
using System.Net.Http;
using System.Runtime.InteropServices;
using PgWarden.Core.Errors;
using PgWarden.Core.Processes;

namespace PgWarden.Dcs;

/// <summary>
/// A single-member etcd run as a child process (the demo cluster and the tests; in production etcd
/// is the user's own cluster). Its output is appended to <c>etcd-&lt;name&gt;.log</c> next to the
/// data directory. Stopped by PID: SIGTERM, then SIGKILL after a grace period.
/// </summary>
public sealed class EtcdServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/etcd";

    private static readonly TimeSpan s_defaultGrace = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly Task _pump;

    private readonly EtcdServerTls? _tls;

    private EtcdServer(Process process, Task pump, string name, string clientUrl, string peerUrl, string dataDir, string logFile, EtcdServerTls? tls)
    {
        _process = process;
        _tls = tls;
        _pump = pump;
        Name = name;
        ClientUrl = clientUrl;
        PeerUrl = peerUrl;
        DataDir = dataDir;
        LogFile = logFile;
        Pid = process.Id;
        Exited = process.WaitForExitAsync();
    }

    public string Name { get; }

    public string ClientUrl { get; }

    public string PeerUrl { get; }

    public string DataDir { get; }

    public string LogFile { get; }

    public int Pid { get; }

    /// <summary>Completes when etcd exits, for whatever reason.</summary>
    public Task Exited { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Throws the missing-dependency error when Debian's etcd is not installed.</summary>
    public static void EnsureInstalled()
    {
        if (!File.Exists(Binary))
        {
            throw new PgWardenException(ExitCodes.MissingDependency,
                $"etcd is not installed ({Binary} not found); install it with: apt-get install etcd-server etcd-client");
        }
    }

    /// <summary>
    /// Starts etcd on <paramref name="clientUrl"/> / <paramref name="peerUrl"/> (e.g.
    /// http://127.0.0.1:2379 and :2380) with its data in <paramref name="dataDir"/>, and returns once
    /// it reports healthy. On failure the process is killed and the error names the log file.
    /// </summary>
    /// <param name="authTokenTtl">etcd's <c>--auth-token-ttl</c> (how long a login token lives without use; etcd's default 300 s), whole seconds; null for the default.</param>
    /// <param name="tls">For https URLs: the server certificate (also the peer one) and the CA peers must chain to; null for http.</param>
    public static async Task<EtcdServer> StartAsync(string name, string clientUrl, string peerUrl, string dataDir, TimeSpan startTimeout, CancellationToken cancellationToken,
        TimeSpan? authTokenTtl = null, EtcdServerTls? tls = null)
    {
        if ((clientUrl.StartsWith("https://", StringComparison.Ordinal) || peerUrl.StartsWith("https://", StringComparison.Ordinal)) && tls is null)
        {
            throw new ArgumentException("https URLs need the server certificate", nameof(tls));
        }
        EnsureInstalled();
        dataDir = Path.GetFullPath(dataDir);
        var parent = Path.GetDirectoryName(dataDir.TrimEnd('/')) ?? throw new ArgumentException("the data directory needs a parent", nameof(dataDir));
        Directory.CreateDirectory(parent);
        var logFile = Path.Combine(parent, $"etcd-{name}.log");
        // Through setpriv --pdeathsig: etcd dies with the process that started it, however that dies.
        var psi = new ProcessStartInfo("/usr/bin/setpriv")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = parent,
        };
        foreach (var arg in new[]
        {
            "--pdeathsig", "SIGTERM", "--", Binary,
            "--name", name,
            "--data-dir", dataDir,
            "--listen-client-urls", clientUrl,
            "--advertise-client-urls", clientUrl,
            "--listen-peer-urls", peerUrl,
            "--initial-advertise-peer-urls", peerUrl,
            "--initial-cluster", $"{name}={peerUrl}",
            "--initial-cluster-state", "new",
            "--initial-cluster-token", $"pgwarden-{name}",
            "--logger", "zap",
            "--log-outputs", "stderr",
        })
        {
            psi.ArgumentList.Add(arg);
        }
        if (tls is not null)
        {
            // etcd 3.4 "Transport security model": clients verify the server against the CA; peers
            // (one here, but the peer port listens too) must present a certificate of the same CA.
            foreach (var arg in new[]
            {
                "--cert-file", tls.CertFile, "--key-file", tls.KeyFile,
                "--peer-cert-file", tls.CertFile, "--peer-key-file", tls.KeyFile,
                "--peer-trusted-ca-file", tls.CaFile, "--peer-client-cert-auth",
            })
            {
                psi.ArgumentList.Add(arg);
            }
            if (tls.ClientCertAuth)
            {
                psi.ArgumentList.Add("--client-cert-auth");
                psi.ArgumentList.Add("--trusted-ca-file");
                psi.ArgumentList.Add(tls.CaFile);
            }
        }
        if (authTokenTtl is { } tokenTtl)
        {
            psi.ArgumentList.Add("--auth-token-ttl");
            psi.ArgumentList.Add(((long)Math.Max(1, tokenTtl.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        // The caller's ETCD_* settings must not reconfigure the server we start.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("ETCD", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }
        if (UnsupportedArch() is { } arch)
        {
            psi.Environment["ETCD_UNSUPPORTED_ARCH"] = arch;
        }

        var process = new Process { StartInfo = psi };
        PgWarden.Core.Processes.DedicatedLauncherThread.Run(process.Start);
        process.StandardInput.Close();
        var server = new EtcdServer(process, PumpAsync(process, logFile), name, clientUrl, peerUrl, dataDir, logFile, tls);
        try
        {
            await server.WaitHealthyAsync(startTimeout, cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        if (_tls is not null)
        {
            // With --client-cert-auth the health check presents the server's own certificate, which then needs
            // clientAuth (a node's has it); otherwise it presents none, so a server-only certificate serves.
            handler.SslOptions = EtcdTlsOptions.Load(_tls.ClientCertAuth
                ? new PgWarden.Core.Dcs.DcsTls(_tls.CaFile, _tls.CertFile, _tls.KeyFile)
                : new PgWarden.Core.Dcs.DcsTls(_tls.CaFile));
        }
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(1) };
        var started = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new PgWardenException(ExitCodes.OperationFailed,
                    $"etcd {Name} exited with code {_process.ExitCode} while starting; see {LogFile}");
            }
            try
            {
                using var response = await http.GetAsync($"{ClientUrl.TrimEnd('/')}/health", cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode && body.Contains("\"health\":\"true\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }
            if (started.Elapsed > timeout)
            {
                throw new PgWardenException(ExitCodes.Timeout,
                    $"etcd {Name} did not become healthy on {ClientUrl} within {timeout.TotalSeconds:0.#} s; see {LogFile}");
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>SIGTERM, then SIGKILL if etcd has not exited after <paramref name="grace"/>. True if it stopped on SIGTERM.</summary>
    public async Task<bool> StopAsync(TimeSpan grace)
    {
        var clean = true;
        if (!_process.HasExited)
        {
            Libc.Kill(Pid, Libc.SIGTERM);
            clean = await Task.WhenAny(Exited, Task.Delay(grace)).ConfigureAwait(false) == Exited;
            if (!clean)
            {
                Libc.Kill(Pid, Libc.SIGKILL);
            }
        }
        await Exited.ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
        return clean;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(s_defaultGrace).ConfigureAwait(false);
        _process.Dispose();
    }

    private static string? UnsupportedArch() => RuntimeInformation.OSArchitecture switch
    {
        // etcd 3.4 refuses to start on architectures it does not officially support unless told.
        Architecture.X64 => null,
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => null,
        Architecture.X86 => "386",
        var other => other.ToString().ToLowerInvariant(),
    };

    private static async Task PumpAsync(Process process, string logFile)
    {
        await using var log = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        async Task Copy(StreamReader reader)
        {
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                lock (log)
                {
                    log.WriteLine(line);
                }
            }
        }
        await Task.WhenAll(Copy(process.StandardOutput), Copy(process.StandardError)).ConfigureAwait(false);
    }
}

/// <summary>
/// The certificate (PEM) an etcd started by <see cref="EtcdServer"/> serves clients and peers with,
/// and the CA its peers — and its clients, with <see cref="ClientCertAuth"/> — must chain to.
/// </summary>
public sealed record EtcdServerTls(string CertFile, string KeyFile, string CaFile, bool ClientCertAuth = false);
