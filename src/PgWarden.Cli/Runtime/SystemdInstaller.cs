using System.Diagnostics;
using PgWarden.Core.Errors;
using PgWarden.Core.Install;
using PgWarden.Core.Processes;
using PgWarden.Postgres.Os;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// Writes what <see cref="UnitGenerator"/> made: into a directory (--output: nothing else touched), or onto this
/// host (--system: units, tmpfiles.d and logrotate snippets in place, `systemd-tmpfiles --create`, then
/// `systemctl daemon-reload`). --system refuses up front where systemd is not the init system.
/// </summary>
public static class SystemdInstaller
{
    /// <summary>sd_booted(3): systemd runs as the init system when this directory exists.</summary>
    public const string SystemdRuntimeDir = "/run/systemd/system";

    /// <summary>Writes every file into <paramref name="dir"/> (created); fails with OperationFailed naming the path.</summary>
    public static void WriteTo(string dir, IReadOnlyList<InstallFile> files)
    {
        try
        {
            Directory.CreateDirectory(dir);
            foreach (var f in files)
            {
                WriteFile(Path.Combine(dir, f.FileName), f);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, $"could not write the install files to {dir}: {e.Message}");
        }
    }

    /// <summary>
    /// Installs the files on this host. NotRunning (8) when systemd is not PID 1 (a container, a chroot), OperationFailed (10)
    /// when not root, MissingDependency (6) when the service's user or program is missing; nothing is written then.
    /// </summary>
    public static async Task InstallAsync(InstallRequest request, IReadOnlyList<InstallFile> files, Action<string> output, CancellationToken ct)
    {
        if (!Directory.Exists(SystemdRuntimeDir))
        {
            throw new PgWardenException(ExitCodes.NotRunning,
                $"systemd is not the init system here (PID 1 is '{InitName()}', no {SystemdRuntimeDir}): --system cannot install units; use --output DIR and copy the files to a systemd host");
        }
        if (!Libc.IsRoot)
        {
            throw new PgWardenException(ExitCodes.OperationFailed, "--system writes to /etc/systemd/system and needs root; run it with sudo, or use --output DIR");
        }
        CheckPrerequisites(request);
        foreach (var f in files.Where(f => f.InstallPath.Length > 0))
        {
            try
            {
                WriteFile(f.InstallPath, f);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PgWardenException(ExitCodes.OperationFailed, $"could not write {f.InstallPath}: {e.Message}");
            }
            output($"installed {f.InstallPath}");
        }
        foreach (var f in files.Where(f => f.Kind == InstallFileKind.TmpFiles))
        {
            await RunAsync("systemd-tmpfiles", ["--create", f.InstallPath], ct);
        }
        await RunAsync("systemctl", ["daemon-reload"], ct);
        output("systemctl daemon-reload: done");
    }

    private static void CheckPrerequisites(InstallRequest request)
    {
        if (request.Role == InstallRole.Etcd && !request.Cluster.Dcs.Embedded)
        {
            OsUser.Lookup("etcd");
            if (!File.Exists("/usr/bin/etcd"))
            {
                throw new PgWardenException(ExitCodes.MissingDependency, "/usr/bin/etcd is not installed (apt-get install etcd-server)");
            }
            return;
        }
        if (request.Role != InstallRole.Etcd)
        {
            OsUser.Lookup(request.Cluster.Postgres.OsUser);
        }
        if (!File.Exists(request.Program[0]))
        {
            throw new PgWardenException(ExitCodes.MissingDependency, $"the pgwarden executable {request.Program[0]} does not exist on this host (--binary)");
        }
    }

    /// <summary>Written beside the target and renamed over it: a unit is never seen half-written.</summary>
    private static void WriteFile(string path, InstallFile file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".pgwarden-new";
        File.WriteAllText(temp, file.Content);
        File.SetUnixFileMode(temp, file.Mode);
        File.Move(temp, path, overwrite: true);
    }

    private static async Task RunAsync(string program, string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PgWardenException(ExitCodes.MissingDependency, $"{program} cannot be run: {e.Message}");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0)
            {
                var text = ((await stderr).Trim() + " " + (await stdout).Trim()).Trim();
                throw new PgWardenException(ExitCodes.OperationFailed, $"{program} {string.Join(' ', args)} failed (exit {process.ExitCode}): {text.ReplaceLineEndings(" ")}");
            }
        }
    }

    private static string InitName()
    {
        try
        {
            return File.ReadAllText("/proc/1/comm").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
