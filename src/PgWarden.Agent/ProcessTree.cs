using PgWarden.Postgres.Os;
using PgWarden.Core.Processes;

namespace PgWarden.Agent;

/// <summary>Fencing: SIGKILL a process and every descendant (a hung postmaster's backends keep serving otherwise).</summary>
public static class ProcessTree
{
    public static int KillTree(int root)
    {
        var victims = Descendants(root).Prepend(root).ToList();
        // Freeze first so nobody forks or commits while we go through the list, then kill.
        foreach (var pid in victims)
        {
            Libc.Kill(pid, Libc.SIGSTOP);
        }
        foreach (var pid in victims)
        {
            Libc.Kill(pid, Libc.SIGKILL);
        }
        return victims.Count;
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
