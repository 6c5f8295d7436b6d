using System.Runtime.InteropServices;

namespace PgWarden.Dcs;

/// <summary>kill(2): .NET can only SIGKILL a process; etcd deserves a SIGTERM first.</summary>
internal static partial class Signals
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int sig);

    public static bool Send(int pid, int signal) => pid > 0 && SysKill(pid, signal) == 0;
}
