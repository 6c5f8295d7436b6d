using System.Diagnostics;
using PgWarden.Postgres.Os;
using PgWarden.Core.Processes;

namespace PgWarden.Postgres.Tools;

/// <summary>
/// Builds the <see cref="ProcessStartInfo"/> for a command. When PgWarden runs as root and the
/// command must run as the server user, it goes through setpriv, which switches uid/gid and then
/// execs the program — so the child's PID is the program's own PID.
/// </summary>
public sealed class ProcessLauncher(OsUser serverUser)
{
    public OsUser ServerUser { get; } = serverUser;

    public ProcessStartInfo StartInfo(ToolCommand command, bool redirect)
    {
        var switchUser = command.AsServerUser && Libc.IsRoot && ServerUser.Uid != 0;
        var viaSetpriv = switchUser || command.ParentDeathSignal is not null;
        var psi = new ProcessStartInfo
        {
            FileName = viaSetpriv ? "/usr/bin/setpriv" : command.FileName,
            UseShellExecute = false,
            RedirectStandardOutput = redirect,
            RedirectStandardError = redirect,
            RedirectStandardInput = redirect,
            WorkingDirectory = command.WorkingDirectory ?? (switchUser ? "/" : Environment.CurrentDirectory),
        };
        if (viaSetpriv)
        {
            // A uid change clears the parent-death signal, so a second setpriv (already running as
            // the server user) sets it; both exec, so the server keeps this child's PID.
            var args = new List<string>();
            if (switchUser)
            {
                args.AddRange([$"--reuid={ServerUser.Uid}", $"--regid={ServerUser.Gid}", "--init-groups", "--"]);
                if (command.ParentDeathSignal is not null)
                {
                    args.Add("/usr/bin/setpriv");
                }
            }
            if (command.ParentDeathSignal is { } signal)
            {
                args.AddRange(["--pdeathsig", signal, "--"]);
            }
            args.Add(command.FileName);
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }
        }
        if (switchUser)
        {
            psi.Environment["HOME"] = ServerUser.Home;
            psi.Environment["USER"] = ServerUser.Name;
            psi.Environment["LOGNAME"] = ServerUser.Name;
        }
        foreach (var a in command.Arguments)
        {
            psi.ArgumentList.Add(a);
        }
        // Never let a caller's libpq settings leak into tools we run.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("PG", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }
        psi.Environment["LC_ALL"] = "C.UTF-8";
        foreach (var (key, value) in command.Environment)
        {
            psi.Environment[key] = value;
        }
        return psi;
    }
}
