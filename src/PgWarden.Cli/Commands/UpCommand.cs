using System.CommandLine;
using System.Diagnostics;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Config;
using PgWarden.Core.Errors;
using PgWarden.Core.Rendering;
using PgWarden.Core.Security;
using PgWarden.Pooler;
using PgWarden.Postgres;
using PgWarden.Postgres.Os;
using PgWarden.Postgres.Tools;
using Spectre.Console;
using PgWarden.Core.Processes;

namespace PgWarden.Cli.Commands;

/// <summary>
/// `pgwarden up`: creates (first time) or starts (later) the local cluster — one agent per node and
/// one steering process per PgBouncer — waits until it is healthy, applies the schema and prints
/// the endpoints. Returns with the cluster running, or stays attached with --foreground.
/// </summary>
public static class UpCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var foreground = new Option<bool>("--foreground") { Description = "stay attached; Ctrl+C stops the cluster" };
        var timeout = new Option<int>("--timeout") { Description = "seconds to wait for a healthy cluster", DefaultValueFactory = _ => 180 };
        var cmd = new Command("up", "create or start the cluster (default: a 3-node demo with 2 PgBouncers under ./.pgwarden/demo)") { config, dir, foreground, timeout };
        CommandAction.Set(cmd, async (p, ct) =>
        {
            var clock = Stopwatch.StartNew();
            var location = ClusterLocator.Find(p.GetValue(config), p.GetValue(dir));
            var configPath = location.Path;
            if (!location.Exists && location.Source is ConfigSource.DirOption or ConfigSource.NotFound)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(configPath)!);
                await File.WriteAllTextAsync(configPath, DemoCluster.Yaml(), ct);
                Console.WriteLine($"created the demo cluster configuration {configPath}");
            }
            var cluster = ClusterLocator.Load(p.GetValue(config), p.GetValue(dir));
            if (Daemons.All(cluster, configPath).All(d => d.IsRunning))
            {
                // Everything runs: `up` still brings the dynamic settings to the file's values.
                var changed = await DcsSettingsSync.ApplyAsync(cluster, ct);
                var pending = (await ClusterProbe.ProbeAsync(cluster, ClusterSecrets.Load(cluster.SecretsFile), checkPoolers: false, ct)).Problems
                    .Where(p => p.Contains("applies when the node restarts", StringComparison.Ordinal)).ToList();
                foreach (var p2 in pending)
                {
                    Console.WriteLine($"not applied yet: {p2}");
                }
                if (changed.Count == 0)
                {
                    throw new PgWardenException(ExitCodes.AlreadyRunning, pending.Count == 0
                        ? $"cluster {cluster.Name} is already up and runs with the file's settings; nothing to do (`pgwarden status` shows its health)"
                        : $"cluster {cluster.Name} is already up; the settings above take a restart of their nodes (`pgwarden down` then `pgwarden up`)");
                }
                Console.WriteLine($"cluster {cluster.Name} is already up; applied the changed dcs settings: {string.Join(", ", changed)}");
                return 0;
            }
            await Backup.Repository.RepositoryPreflight.EnsureAsync(cluster, create: true, ct);
            var started = await StartAsync(cluster, configPath, ct);
            await WaitServingAsync(cluster, started, TimeSpan.FromSeconds(p.GetValue(timeout)), ct);
            await MigrateCommand.RunAsync(cluster, Console.WriteLine, ct);
            var secrets = ClusterSecrets.Load(cluster.SecretsFile);
            WriteConnectionFile(cluster, secrets);
            PrintEndpoints(cluster);
            Console.WriteLine($"cluster {cluster.Name} is up: one primary, every replica streaming, every PgBouncer routing ({clock.Elapsed.TotalSeconds:0.0} s)");
            if (p.GetValue(foreground))
            {
                Console.WriteLine("running in the foreground; press Ctrl+C to stop the cluster");
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                }
                var left = await Daemons.StopAsync(Daemons.All(cluster, configPath), TimeSpan.FromSeconds(120), Console.WriteLine);
                return left.Count == 0 ? 0 : ExitCodes.Timeout;
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>Checks everything that can be checked before starting, then starts the missing daemons.</summary>
    private static async Task<IReadOnlyList<(Daemons.Daemon Daemon, int Pid)>> StartAsync(ClusterConfig cluster, string configPath, CancellationToken ct)
    {
        var binaries = new PgBinaries(cluster.Postgres.BinDir, cluster.Postgres.Version);
        binaries.EnsureInstalled();
        if (cluster.Poolers.Length > 0)
        {
            PgBouncerInstance.EnsureInstalled();
        }
        if (cluster.Dcs.Embedded)
        {
            Dcs.EtcdServer.EnsureInstalled();
        }
        var daemons = Daemons.All(cluster, configPath);
        var missing = daemons.Where(d => !d.IsRunning).ToList();
        if (missing.Count == 0)
        {
            throw new PgWardenException(ExitCodes.AlreadyRunning,
                $"cluster {cluster.Name} is already up ({daemons.Count} processes running); nothing to do (`pgwarden status` shows its health)");
        }
        if (!File.Exists(cluster.SecretsFile))
        {
            ClusterSecrets.Generate().Save(cluster.SecretsFile);
            Console.WriteLine($"generated passwords into {cluster.SecretsFile} (mode 0600)");
            GenerateBackupKey(cluster);
        }
        else if (ClusterSecrets.Load(cluster.SecretsFile) is { Role: SecretsRole.Full, HasEtcdPasswords: false } old)
        {
            // A cluster created before etcd authentication: its embedded etcd gets users on this start.
            old.WithEtcdPasswords().Save(cluster.SecretsFile);
            Console.WriteLine($"added etcd passwords to {cluster.SecretsFile}: etcd authentication is on from this start (docs/secrets.md)");
        }

        var launcher = new ProcessLauncher(OsUser.ServerUser(cluster.Postgres.OsUser));
        var tools = new ToolRunner(launcher);
        EnsureCertificates(cluster, launcher.ServerUser, missing);
        foreach (var d in missing)
        {
            if (d.Kind == "agent")
            {
                var node = cluster.Node(d.Name);
                var pg = new PostgresNode(cluster, node, binaries, launcher, tools);
                DirectoryAccess.EnsureTraversable(node.DataDir, launcher.ServerUser);
                await pg.InspectDataAsync(ct);
                var ownPostmaster = OwnPostmasterPid(node);
                CheckPort(node.Address, node.Port, $"PostgreSQL of node {node.Name}", ownPostmaster);
                CheckPort(node.Address, node.ApiPort, $"agent API of node {node.Name}", null);
            }
            else if (d.Kind == "pooler")
            {
                var pooler = cluster.Pooler(d.Name);
                CheckPort(pooler.Address, pooler.Port, $"PgBouncer {pooler.Name}", null);
            }
            else
            {
                foreach (var url in cluster.Dcs.Endpoints.Append(cluster.Dcs.EmbeddedPeerUrl!))
                {
                    var uri = new Uri(url);
                    CheckPort(uri.Host.Trim('[', ']'), uri.Port, "the embedded etcd", null);
                }
            }
        }
        var started = new List<(Daemons.Daemon, int)>();
        foreach (var d in missing)
        {
            started.Add((d, Daemons.Start(d)));
            Console.WriteLine($"started {d.Kind} {d.Name} (log: {d.LogFile})");
            if (d.Kind == "etcd")
            {
                await WaitForEtcdAsync(cluster, d, started[^1].Item2, ct);
            }
        }
        return started;
    }

    /// <summary>
    /// Waits up to <see cref="EtcdStartTimeout"/> until the embedded etcd just started answers a read of the
    /// cluster with this cluster's credentials, each attempt given 5 s: a restarted etcd is slow on a loaded
    /// machine (every client logs in again — bcrypt — while it replays its log), and 1 s attempts under a 30 s
    /// limit gave up on one that answered a few seconds later (CI: `up` after an etcd outage, exit 8).
    /// Throws <see cref="PgWardenException"/> when etcd exits meanwhile, and the DCS error after the limit.
    /// </summary>
    private static async Task WaitForEtcdAsync(ClusterConfig cluster, Daemons.Daemon daemon, int pid, CancellationToken ct)
    {
        await using var dcs = new Dcs.EtcdDcs(cluster.Name, cluster.Dcs.Endpoints, TimeSpan.FromSeconds(5),
            credentials: DcsCredentialsSource.Resolve(cluster, ClusterSecrets.Load(cluster.SecretsFile), readOnly: false), tls: cluster.Dcs.ClientTls(null));
        var deadline = DateTime.UtcNow + EtcdStartTimeout;
        while (true)
        {
            if (!Libc.IsAlive(pid))
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"the embedded etcd exited: {LastError(daemon.LogFile)} (log: {daemon.LogFile})");
            }
            try
            {
                await dcs.ReadAsync(ct);
                return;
            }
            catch (Core.Dcs.DcsUnavailableException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200, ct);
            }
        }
    }

    /// <summary>How long `up` waits for the embedded etcd it started to answer (seconds).</summary>
    public static readonly TimeSpan EtcdStartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>The PID of a postmaster left running on this node's data directory (its agent will take it over).</summary>
    private static int? OwnPostmasterPid(NodeConfig node) => PostmasterPidFile.LivePostmaster(node.DataDir);

    private static void CheckPort(string address, int port, string what, int? ownPid)
    {
        if (PortProbe.IsFree(address, port))
        {
            return;
        }
        var holder = PortProbe.Holder(port);
        if (ownPid is { } pid && holder?.Contains($"PID {pid})", StringComparison.Ordinal) == true)
        {
            return;
        }
        throw new PgWardenException(ExitCodes.PortInUse,
            $"port {port} on {address} (for {what}) is already in use{(holder is null ? "" : $" by {holder}")}; stop it or change the port in the cluster configuration");
    }

    /// <summary>
    /// Waits until the cluster serves: one primary, every replica streaming, every PgBouncer routing
    /// (a paused cluster or a problem that does not stop it serving does not make `up` wait). The
    /// file's dynamic settings are applied as soon as an agent answers.
    /// </summary>
    private static async Task WaitServingAsync(ClusterConfig cluster, IReadOnlyList<(Daemons.Daemon Daemon, int Pid)> started, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var lastLine = "";
        var settingsApplied = false;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            foreach (var (d, _) in started.Where(s => !Libc.IsAlive(s.Pid)))
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"{d.Kind} {d.Name} exited: {LastError(d.LogFile)} (log: {d.LogFile})");
            }
            if (!settingsApplied)
            {
                try
                {
                    if (await DcsSettingsSync.ApplyAsync(cluster, ct) is { Count: > 0 } applied)
                    {
                        Console.WriteLine($"applied the changed dcs settings: {string.Join(", ", applied)}");
                    }
                    settingsApplied = true;
                }
                catch (PgWardenException)
                {
                    // No agent answers yet.
                }
            }
            var report = await ClusterProbe.ProbeAsync(cluster, ClusterSecrets.Load(cluster.SecretsFile), checkPoolers: true, ct);
            var line = string.Join(", ", report.Nodes.Select(n => $"{n.Name} {(n.Role is Core.Ha.NodeRole.Unknown ? "" : n.Role.ToString().ToLowerInvariant() + " ")}{n.State}{(n.WalReceiver is { } w ? $" ({w})" : "")}"));
            if (line != lastLine)
            {
                Console.WriteLine($"  {line}");
                lastLine = line;
            }
            if (settingsApplied && report.Serving)
            {
                foreach (var problem in report.Problems)
                {
                    Console.WriteLine($"  note: {problem}");
                }
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new PgWardenException(ExitCodes.Timeout,
                    $"cluster {cluster.Name} does not serve after {timeout.TotalSeconds:0} s: {string.Join("; ", report.Problems)} (logs in {cluster.BaseDir}/logs)");
            }
            await Task.Delay(500, ct);
        }
    }

    private static string LastError(string logFile)
    {
        if (!File.Exists(logFile))
        {
            return "no log";
        }
        var lines = File.ReadAllLines(logFile).Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
        return lines.LastOrDefault(l => l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("error", StringComparison.OrdinalIgnoreCase))?.Trim()
            ?? lines.LastOrDefault()?.Trim() ?? "no output";
    }

    /// <summary>
    /// A new cluster's backups are encrypted by default: unless backup.encryption says none, a random 256-bit
    /// master key is written to the key file (0600, owned by the server user, next to the secrets). Clusters
    /// created before (secrets already there) keep what they have.
    /// </summary>
    private static void GenerateBackupKey(ClusterConfig cluster)
    {
        if (cluster.Backup?.Encryption is not { Mode: not BackupEncryptionMode.None, KeyFile: { } keyFile } || File.Exists(keyFile))
        {
            return;
        }
        var key = Backup.Repository.Encryption.MasterKey.Generate();
        key.Save(keyFile, Libc.IsRoot ? OsUser.Lookup(cluster.Postgres.OsUser) : null);
        Console.WriteLine($"generated the backup encryption key {key.Id} into {keyFile} (mode 0600); keep a copy somewhere safe: without it the backups cannot be read");
    }

    /// <summary>
    /// TLS is on unless the configuration says tls: disabled. Generated mode: the CA and every host's
    /// certificate are created (or renewed, see ClusterCertificates) under the cluster directory, host
    /// keys owned by the server user. Own certificates: each daemon about to start must find its files.
    /// </summary>
    private static void EnsureCertificates(ClusterConfig cluster, OsUser serverUser, IEnumerable<Daemons.Daemon> starting)
    {
        foreach (var line in Core.Tls.ClusterCertificates.EnsureGenerated(cluster, (serverUser.Uid, serverUser.Gid), DateTimeOffset.UtcNow))
        {
            Console.WriteLine($"generated TLS: {line}");
        }
        foreach (var d in starting.Where(d => d.Kind is "agent" or "pooler"))
        {
            Core.Tls.ClusterCertificates.RequireHostFiles(cluster, d.Name);
        }
    }

    private static void WriteConnectionFile(ClusterConfig cluster, ClusterSecrets secrets)
    {
        var db = cluster.Database;
        var lines = new List<string> { $"# Connection strings for the {db.Name} application (cluster {cluster.Name}). Keep this file private (0600)." };
        // libpq URI parameters: the PgBouncers only accept TLS; verify them against the cluster CA.
        var tlsQuery = cluster.Tls.Enabled ? $"?sslmode=verify-full&sslrootcert={Uri.EscapeDataString(cluster.Tls.CaFile)}" : "";
        for (var i = 0; i < cluster.Poolers.Length; i++)
        {
            var p = cluster.Poolers[i];
            var suffix = i == 0 ? "" : $"_{i + 1}";
            lines.Add($"DATABASE_URL{suffix}=postgresql://{db.AppUser}:{secrets.AppPassword}@{p.Address}:{p.Port}/{db.Name}{tlsQuery}");
            lines.Add($"DATABASE_URL_RO{suffix}=postgresql://{db.AppUser}:{secrets.AppPassword}@{p.Address}:{p.Port}/{PgBouncerIniRenderer.ReadOnlyAlias(cluster)}{tlsQuery}");
        }
        lines.Add($"PGUSER={db.AppUser}");
        lines.Add($"PGPASSWORD={secrets.AppPassword}");
        if (cluster.Tls.Enabled)
        {
            lines.Add("PGSSLMODE=verify-full");
            lines.Add($"PGSSLROOTCERT={cluster.Tls.CaFile}");
        }
        SecureFile.WriteAllText(cluster.AppConnectionFile, string.Join('\n', lines) + "\n");
    }

    private static void PrintEndpoints(ClusterConfig cluster)
    {
        var table = new Table().AddColumns("endpoint", "address", "what");
        foreach (var p in cluster.Poolers)
        {
            table.AddRow($"PgBouncer {p.Name}", $"{p.Address}:{p.Port}", $"{cluster.Database.Name} (primary), {PgBouncerIniRenderer.ReadOnlyAlias(cluster)} (replicas)");
        }
        foreach (var n in cluster.Nodes)
        {
            table.AddRow($"PostgreSQL {n.Name}", $"{n.Address}:{n.Port}", "direct (admin, replication)");
            table.AddRow($"agent {n.Name}", n.ApiUrl, "GET /health, GET /node");
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"app connection strings and credentials: {cluster.AppConnectionFile} (mode 0600)");
        Console.WriteLine($"all generated passwords: {cluster.SecretsFile} (mode 0600)");
    }
}
