using PgWarden.Postgres.Os;
using PgWarden.Core.Processes;

namespace PgWarden.Agent;

/// <summary>Fencing: SIGKILL a process and every descendant (a hung postmaster's backends keep serving otherwise).</summary>
public static class ProcessTree
{
    /// <summary>
    /// Freezes <paramref name="root"/> first (so it forks no new backend), then every descendant (so
    /// none commits while the list is walked), then SIGKILLs them all. Returns how many it killed.
    /// </summary>
    public static int KillTree(int root)
    {
        if (!Libc.Kill(root, Libc.SIGSTOP))
        {
            return 0;
        }
        var victims = Descendants(root).ToList();
        foreach (var pid in victims)
        {
            Libc.Kill(pid, Libc.SIGSTOP);
        }
        victims.Insert(0, root);
        foreach (var pid in victims)
        {
            Libc.Kill(pid, Libc.SIGKILL);
        }
        return victims.Count;
    }

    /// <summary>The process's start time (clock ticks since boot, /proc/PID/stat field 22), to tell it from a later process with a recycled PID; null if it is gone.</summary>
    public static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    public static IEnumerable<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ppid = int.Parse(fields[1]);
                if (!children.TryGetValue(ppid, out var list))
                {
                    children[ppid] = list = [];
                }
                list.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
            }
        }
        var stack = new Stack<int>([root]);
        while (stack.Count > 0)
        {
            foreach (var child in children.GetValueOrDefault(stack.Pop()) ?? [])
            {
                yield return child;
                stack.Push(child);
            }
        }
    }
}
