namespace PgWarden.Core.Install;

/// <summary>The node agent's unit, tmpfiles.d and logrotate snippets (see <see cref="UnitGenerator"/>).</summary>
internal static class NodeFiles
{
    /// <summary>PostgreSQL's own server logs (log_directory = log, rotated by PostgreSQL) are removed after this long.</summary>
    public const string ServerLogRetention = "30d";

    public static IReadOnlyList<InstallFile> Generate(InstallRequest r)
    {
        var cluster = r.Cluster;
        var node = cluster.Node(r.Name);
        var user = cluster.Postgres.OsUser;
        var ttl = cluster.Dcs.Initial.Ttl;
        var home = node.HomeDir(cluster);
        var logs = Path.Combine(cluster.BaseDir, "logs");
        var repository = cluster.Backup?.Path;

        var unit = new UnitFile(UnitGenerator.Header(r, $"systemd unit of the PgWarden agent of node {node.Name}"));
        unit.Section("Unit");
        unit.Set("Description", SystemdQuoting.Text($"PgWarden agent of node {node.Name} (cluster {cluster.Name})"));
        UnitGenerator.NetworkOrdering(unit);

        unit.Section("Service");
        unit.Set("Type", "notify",
            "The agent speaks sd_notify(3): READY=1 once its HA loop runs; WATCHDOG=1 on each lease renewal while primary, after each HA cycle (30 s timeout) otherwise.");
        unit.Set("NotifyAccess", "main",
            "Only the agent: PostgreSQL and PgBouncer are built with systemd support and would otherwise report their own",
            "READY=1/STOPPING=1 as the unit's (the agent also removes NOTIFY_SOCKET from what it passes on).");
        unit.Set("User", user,
            "PostgreSQL refuses to run as root; the agent, its fence watchdog and PostgreSQL all run as the server user",
            "(postgres.os_user), which must own secrets.yaml (mode 0600) and the data directory.");
        unit.Set("Group", user);
        unit.Set("ExecStart", UnitGenerator.ExecStart(r, "agent", "--config", cluster.ConfigFile, "--node", node.Name),
            "The configuration is passed explicitly; nothing secret is on this line (passwords stay in secrets.yaml).");
        unit.Set("KillMode", "mixed",
            "Stop/restart: SIGTERM goes to the agent alone, which stops PostgreSQL itself with a fast shutdown (its WAL senders",
            "send everything to the replicas first) and then releases the leader lease so a replica takes over at once; whatever",
            "is left in the unit afterwards is SIGKILLed. So restarting the agent DOES restart this node's PostgreSQL — by design:",
            "PostgreSQL never outlives its agent (parent-death signal, fence watchdog; docs/ha-safety.md). control-group would",
            "SIGTERM every backend and the postmaster (a smart shutdown) at the same moment as the agent, racing its ordered stop.");
        unit.Set("TimeoutStartSec", ServiceTiming.StartTimeoutSeconds.ToString(),
            "Before READY=1 it may stop a PostgreSQL its predecessor left running (up to 60 s).");
        unit.Set("TimeoutStopSec", ServiceTiming.StopTimeoutSeconds.ToString(),
            "Longer than a clean stop can take (fast shutdown up to 60 s, lease release, at most 150 s in all).");
        unit.Set("Restart", "on-failure",
            "A crashed or watchdog-killed agent comes back; a clean `systemctl stop` stays stopped.");
        unit.Set("RestartSec", ServiceTiming.RestartSeconds(ttl).ToString(),
            $"ttl ({ttl} s) + 1 s: the lease the dead agent may have held has expired before it starts again.");
        unit.Set("SuccessExitStatus", "130",
            "130 (interrupted) is how a SIGTERM during start-up ends it: a requested stop, not a failure.");
        unit.Set("RestartPreventExitStatus", "2 3 4 6 7 11",
            "Exit codes that a restart cannot fix (README, Exit codes): usage, configuration, already running, missing",
            "dependency, refused as unsafe (a data directory that is not this node's), not found. Fix, then start it.");
        var watchdog = ServiceTiming.WatchdogSeconds(ttl);
        unit.Set("WatchdogSec", watchdog.ToString(),
            $"Backstop behind the fence watchdog process: no WATCHDOG=1 for {watchdog} s (the fence deadline ttl - max(1, ttl/10),",
            "minus 1 s) means the agent is stalled — and its fence watchdog may be gone too — so the whole unit is killed,",
            "PostgreSQL included, before the lease can expire.");
        unit.Set("WatchdogSignal", "SIGKILL",
            "Kill at once: the default SIGABRT would have the agent and then every backend dump core first.");
        unit.Set("LimitNOFILE", "65536",
            "PostgreSQL opens up to max_files_per_process (1000) files per backend besides its sockets: the usual soft limit of 1024 leaves no room.");
        UnitGenerator.Hardening(unit, UnitGenerator.WritablePaths(cluster, node.DataDir, repository));
        UnitGenerator.Logging(unit, r.UnitName);
        UnitGenerator.InstallSection(unit);

        var q = UnitGenerator.TmpFilesPath;
        var tmpfiles = string.Join('\n',
        [
            .. UnitGenerator.CommentHeader(r, $"tmpfiles.d(5) rules of node {node.Name}: the directories its agent writes, owned by {user}"),
            "# Type Path Mode User Group Age",
            $"d {q(Path.Combine(cluster.BaseDir, "nodes"))} 0750 {user} {user} -",
            $"d {q(home)} 0700 {user} {user} -",
            $"d {q(logs)} 0750 {user} {user} -",
            $"d {q(Path.Combine(cluster.BaseDir, "state"))} 0750 {user} {user} -",
            $"d {q(node.DataDir)} 0700 {user} {user} -",
            $"# PostgreSQL's own server log (log_directory = log; PostgreSQL rotates it daily or at 100MB): files older than {ServerLogRetention} are removed.",
            $"e {q(Path.Combine(node.DataDir, "log"))} - - - {ServerLogRetention}",
            "",
        ]);

        var lr = UnitGenerator.LogrotatePath;
        var logrotate = string.Join('\n',
        [
            .. UnitGenerator.CommentHeader(r, $"logrotate(8) rules of node {node.Name}: the files PgWarden appends to (its own log goes to the journal)"),
            "# postgres.log: PostgreSQL's output before its logging collector starts; backup-*.log: the scheduled backups' output.",
            $"{lr(Path.Combine(home, "postgres.log"))} {lr(Path.Combine(logs, $"backup-*-{node.Name}.log"))} {{",
            .. RotationRules(user),
            "}",
            "",
        ]);

        return
        [
            UnitGenerator.Unit(r, unit),
            new InstallFile(InstallFileKind.TmpFiles, r.UnitName + ".tmpfiles.conf", $"{UnitGenerator.TmpFilesDir}/{r.UnitName}.conf", tmpfiles, InstallFile.Readable),
            new InstallFile(InstallFileKind.Logrotate, r.UnitName + ".logrotate", $"{UnitGenerator.LogrotateDir}/{r.UnitName}", logrotate, InstallFile.Readable),
        ];
    }

    /// <summary>
    /// Weekly, 8 kept, compressed; copytruncate because the writers keep the file open in append mode
    /// (O_APPEND: after the truncation they write at the new end, nothing is lost but the lines of that instant).
    /// </summary>
    internal static string[] RotationRules(string user) =>
    [
        $"    su {user} {user}",
        "    weekly",
        "    maxsize 100M",
        "    rotate 8",
        "    compress",
        "    delaycompress",
        "    missingok",
        "    notifempty",
        "    copytruncate",
    ];
}
