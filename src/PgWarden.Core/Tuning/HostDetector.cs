using PgWarden.Core.Config;
using PgWarden.Core.Units;

namespace PgWarden.Core.Tuning;

/// <summary>Reads the host's RAM, CPU count and storage type (Linux /proc and /sys).</summary>
public static class HostDetector
{
    public static HardwareProfile Profile(HardwareHints? hints, int maxConnections)
    {
        if (hints is not null)
        {
            return new HardwareProfile(hints.RamBytes, hints.Cpus, hints.Storage, maxConnections);
        }
        return new HardwareProfile(RamBytes(), Environment.ProcessorCount, Storage(), maxConnections);
    }

    public static long RamBytes()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
                return kb * ByteSize.KB;
            }
        }
        return 4 * ByteSize.GB;
    }

    /// <summary>SSD unless every block device says it is rotational.</summary>
    public static StorageKind Storage()
    {
        try
        {
            var flags = Directory.GetDirectories("/sys/block")
                .Where(d => !Path.GetFileName(d).StartsWith("loop", StringComparison.Ordinal))
                .Select(d => Path.Combine(d, "queue", "rotational"))
                .Where(File.Exists)
                .Select(f => File.ReadAllText(f).Trim())
                .ToList();
            return flags.Count > 0 && flags.All(f => f == "1") ? StorageKind.Hdd : StorageKind.Ssd;
        }
        catch (IOException)
        {
            return StorageKind.Ssd;
        }
    }
}
