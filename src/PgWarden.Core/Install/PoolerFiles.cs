namespace PgWarden.Core.Install;

/// <summary>The pooler's unit, tmpfiles.d and logrotate snippets (see <see cref="UnitGenerator"/>).</summary>
internal static class PoolerFiles
{
    public static IReadOnlyList<InstallFile> Generate(InstallRequest r)
    {
        var cluster = r.Cluster;
        var pooler = cluster.Pooler(r.Name);
        var user = cluster.Postgres.OsUser;
        var home = pooler.HomeDir(cluster);

        var unit = new UnitFile(UnitGenerator.Header(r, $"systemd unit of the PgWarden pooler {pooler.Name} (PgBouncer + its steering)"));
        unit.Section("Unit");
        unit.Set("Description", SystemdQuoting.Text($"PgWarden pooler {pooler.Name}: PgBouncer steered to the primary (cluster {cluster.Name})"));
        UnitGenerator.NetworkOrdering(unit);

        unit.Section("Service");
        unit.Set("Type", "exec",
            "The pooler sends no sd_notify messages: running once exec() succeeded.");
        unit.Set("User", user,
            "PgBouncer refuses to run as root; the pooler runs it as the server user, which must own secrets.yaml (0600).");
        unit.Set("Group", user);
        unit.Set("ExecStart", UnitGenerator.ExecStart(r, "pooler", "--config", cluster.ConfigFile, "--name", pooler.Name),
            "The configuration is passed explicitly; nothing secret is on this line.");
        unit.Set("KillMode", "mixed",
            "SIGTERM to the pooler alone: it shuts PgBouncer down safely (SIGINT: running transactions finish, at most 10 s);",
            "anything left afterwards is SIGKILLed. PgBouncer also gets SIGTERM from the kernel if the pooler dies.");
        unit.Set("TimeoutStopSec", "60", "Longer than PgBouncer's 10 s safe shutdown and the pooler's own stop.");
        unit.Set("Restart", "on-failure",
            "No lease hangs on a pooler: it comes back quickly (clients reconnect to PgBouncer's port).");
        unit.Set("RestartSec", "2");
        unit.Set("SuccessExitStatus", "130",
            "130 (interrupted) is how a SIGTERM during start-up ends it: a requested stop, not a failure.");
        unit.Set("RestartPreventExitStatus", "2 3 4 6 7 11",
            "Exit codes that a restart cannot fix (README, Exit codes). Fix, then start it.");
        unit.Set("LimitNOFILE", "65536",
            "PgBouncer holds one descriptor per client and per server connection (max_client_conn + pools).");
        UnitGenerator.Hardening(unit, UnitGenerator.WritablePaths(cluster));
        UnitGenerator.Logging(unit, r.UnitName);
        UnitGenerator.InstallSection(unit);

        var q = UnitGenerator.TmpFilesPath;
        var tmpfiles = string.Join('\n',
        [
            .. UnitGenerator.CommentHeader(r, $"tmpfiles.d(5) rules of pooler {pooler.Name}: the directories it writes, owned by {user}"),
            "# Type Path Mode User Group Age",
            $"d {q(Path.Combine(cluster.BaseDir, "poolers"))} 0750 {user} {user} -",
            $"d {q(home)} 0700 {user} {user} -",
            "",
        ]);

        var logrotate = string.Join('\n',
        [
            .. UnitGenerator.CommentHeader(r, $"logrotate(8) rules of pooler {pooler.Name}: PgBouncer's log (the pooler's own goes to the journal)"),
            $"{UnitGenerator.LogrotatePath(Path.Combine(home, "pgbouncer.log"))} {{",
            .. NodeFiles.RotationRules(user),
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
}
