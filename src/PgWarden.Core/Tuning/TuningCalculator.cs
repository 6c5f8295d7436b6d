using PgWarden.Core.Units;

namespace PgWarden.Core.Tuning;

/// <summary>
/// Computes memory, checkpoint, planner and parallelism settings from the host. The formulas are
/// pgtune's "web application" profile, which is what the runbook's values come from; for 16 GB,
/// 4 CPUs, 200 connections and SSD they give exactly the runbook's postgresql.conf.
/// </summary>
public static class TuningCalculator
{
    public static IReadOnlyList<TunedParameter> Compute(HardwareProfile hw)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hw.RamBytes, 256 * ByteSize.MB);
        ArgumentOutOfRangeException.ThrowIfLessThan(hw.Cpus, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hw.MaxConnections, 10);

        var ram = hw.RamBytes;
        var sharedBuffers = Floor8k(ram / 4);
        var effectiveCache = Floor8k(ram * 3 / 4);
        var maintenance = Math.Min(ram / 16, 2 * ByteSize.GB);
        var walBuffers = Math.Clamp(sharedBuffers * 3 / 100, 64 * ByteSize.KB, 16 * ByteSize.MB);
        var workersPerGather = hw.Cpus >= 4 ? Math.Min(4, (hw.Cpus + 1) / 2) : 1;
        var workMem = Math.Max(64 * ByteSize.KB,
            (ram - sharedBuffers) / (hw.MaxConnections * 3L) / workersPerGather);
        workMem = workMem / ByteSize.KB * ByteSize.KB;
        var (randomPageCost, ioConcurrency) = hw.Storage switch
        {
            StorageKind.Hdd => ("4", 2),
            StorageKind.San => ("1.1", 300),
            _ => ("1.1", 200),
        };
        // Small hosts get smaller WAL limits so checkpoints do not fill a small disk.
        var (minWal, maxWal) = ram < 2 * ByteSize.GB ? (256 * ByteSize.MB, 1 * ByteSize.GB) : (1 * ByteSize.GB, 4 * ByteSize.GB);

        var list = new List<TunedParameter>
        {
            new("max_connections", hw.MaxConnections.ToString(), "expected concurrent server connections"),
            new("shared_buffers", ByteSize.ToPostgres(sharedBuffers), "25% of RAM"),
            new("effective_cache_size", ByteSize.ToPostgres(effectiveCache), "75% of RAM"),
            new("maintenance_work_mem", ByteSize.ToPostgres(maintenance), "RAM / 16, at most 2GB"),
            new("work_mem", ByteSize.ToPostgres(workMem),
                "(RAM - shared_buffers) / (3 x max_connections) / max_parallel_workers_per_gather"),
            new("wal_buffers", ByteSize.ToPostgres(walBuffers), "3% of shared_buffers, at most 16MB"),
            new("min_wal_size", ByteSize.ToPostgres(minWal), ram < 2 * ByteSize.GB ? "small host" : "web profile"),
            new("max_wal_size", ByteSize.ToPostgres(maxWal), ram < 2 * ByteSize.GB ? "small host" : "web profile"),
            new("checkpoint_completion_target", "0.9", "spread checkpoint writes"),
            new("random_page_cost", randomPageCost, hw.Storage == StorageKind.Hdd ? "spinning disk" : "SSD/SAN: random reads are cheap"),
            new("effective_io_concurrency", ioConcurrency.ToString(), $"{hw.Storage.ToString().ToUpperInvariant()} queue depth"),
            new("default_statistics_target", "100", "web profile"),
        };
        if (hw.Cpus >= 4)
        {
            var maintenanceWorkers = Math.Min(4, (hw.Cpus + 1) / 2);
            list.Add(new("max_worker_processes", hw.Cpus.ToString(), "one per CPU"));
            list.Add(new("max_parallel_workers_per_gather", workersPerGather.ToString(), "CPUs / 2, at most 4"));
            list.Add(new("max_parallel_workers", hw.Cpus.ToString(), "one per CPU"));
            list.Add(new("max_parallel_maintenance_workers", maintenanceWorkers.ToString(), "CPUs / 2, at most 4"));
        }
        if (sharedBuffers >= 8 * ByteSize.GB)
        {
            list.Add(new("huge_pages", "try", "large shared_buffers benefit from huge pages"));
        }
        return list;
    }

    private static long Floor8k(long bytes) => Math.Max(128 * ByteSize.KB, bytes / (8 * ByteSize.KB) * (8 * ByteSize.KB));
}
