namespace PgWarden.Core.Install;

/// <summary>What a generated file is, which decides where it goes and what is run after it is written.</summary>
public enum InstallFileKind
{
    /// <summary>A systemd unit: /etc/systemd/system, then `systemctl daemon-reload`.</summary>
    Unit,

    /// <summary>A tmpfiles.d(5) snippet: /etc/tmpfiles.d, then `systemd-tmpfiles --create FILE`.</summary>
    TmpFiles,

    /// <summary>A logrotate(8) snippet: /etc/logrotate.d.</summary>
    Logrotate,

    /// <summary>An environment file read by a unit (etcd's member settings).</summary>
    Environment,

    /// <summary>What goes where, and the commands to run: written with --output only.</summary>
    Readme,
}
