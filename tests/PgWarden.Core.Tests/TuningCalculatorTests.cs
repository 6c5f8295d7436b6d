using PgWarden.Core.Tuning;
using PgWarden.Core.Units;

namespace PgWarden.Core.Tests;

public class TuningCalculatorTests
{
    private static Dictionary<string, string> Tune(long ram, int cpus, int connections, StorageKind storage) =>
        TuningCalculator.Compute(new HardwareProfile(ram, cpus, storage, connections))
            .ToDictionary(p => p.Name, p => p.Value);

    private static readonly string[] _parallelSettings =
    [
        "max_worker_processes", "max_parallel_workers_per_gather", "max_parallel_workers", "max_parallel_maintenance_workers",
    ];

    [Fact]
    public void RunbookHostReproducesTheRunbookExactly()
    {
        var p = Tune(16 * ByteSize.GB, 4, 200, StorageKind.Ssd);

        Assert.Equal("200", p["max_connections"]);
        Assert.Equal("4GB", p["shared_buffers"]);
        Assert.Equal("12GB", p["effective_cache_size"]);
        Assert.Equal("10485kB", p["work_mem"]);
        Assert.Equal("1GB", p["maintenance_work_mem"]);
        Assert.Equal("16MB", p["wal_buffers"]);
        Assert.Equal("1GB", p["min_wal_size"]);
        Assert.Equal("4GB", p["max_wal_size"]);
        Assert.Equal("0.9", p["checkpoint_completion_target"]);
        Assert.Equal("1.1", p["random_page_cost"]);
        Assert.Equal("200", p["effective_io_concurrency"]);
        Assert.Equal("100", p["default_statistics_target"]);
        // 4 CPUs: parallel settings present, (4 + 1) / 2 = 2 workers per gather.
        Assert.Equal("4", p["max_worker_processes"]);
        Assert.Equal("2", p["max_parallel_workers_per_gather"]);
        Assert.Equal("4", p["max_parallel_workers"]);
        Assert.Equal("2", p["max_parallel_maintenance_workers"]);
        Assert.False(p.ContainsKey("huge_pages"));
        Assert.Equal(16, p.Count);
    }

    [Fact]
    public void EveryParameterExplainsItsFormula()
    {
        var list = TuningCalculator.Compute(TestClusters.RunbookHost);

        Assert.All(list, p => Assert.False(string.IsNullOrWhiteSpace(p.Why), p.Name));
        Assert.Equal(list.Count, list.Select(p => p.Name).Distinct().Count());
    }

    [Fact]
    public void HddHostUsesSpinningDiskCostsAndNoParallelism()
    {
        // 8GB, 2 CPUs, 100 connections: work_mem = (8GB - 2GB) / 300 / 1 = 21474836 B -> 20971kB.
        var p = Tune(8 * ByteSize.GB, 2, 100, StorageKind.Hdd);

        Assert.Equal("4", p["random_page_cost"]);
        Assert.Equal("2", p["effective_io_concurrency"]);
        Assert.Equal("2GB", p["shared_buffers"]);
        Assert.Equal("6GB", p["effective_cache_size"]);
        Assert.Equal("512MB", p["maintenance_work_mem"]);
        Assert.Equal("20971kB", p["work_mem"]);
        Assert.Equal("16MB", p["wal_buffers"]);
        Assert.Equal("1GB", p["min_wal_size"]);
        Assert.Equal("4GB", p["max_wal_size"]);
        Assert.All(_parallelSettings, s => Assert.False(p.ContainsKey(s), s));
    }

    [Fact]
    public void SanHostUsesDeepQueue()
    {
        var p = Tune(16 * ByteSize.GB, 4, 200, StorageKind.San);

        Assert.Equal("1.1", p["random_page_cost"]);
        Assert.Equal("300", p["effective_io_concurrency"]);
    }

    [Fact]
    public void SmallHostGetsSmallWalAndNoParallelSettings()
    {
        // 1GB, 1 CPU, 100 connections: shared_buffers 256MB; wal_buffers = 3% of 256MB = 8053063 B,
        // rounded up to whole kB = 7865kB; work_mem = 768MB / 300 = 2684354 B -> 2621kB.
        var p = Tune(1 * ByteSize.GB, 1, 100, StorageKind.Ssd);

        Assert.Equal("256MB", p["shared_buffers"]);
        Assert.Equal("768MB", p["effective_cache_size"]);
        Assert.Equal("64MB", p["maintenance_work_mem"]);
        Assert.Equal("7865kB", p["wal_buffers"]);
        Assert.Equal("2621kB", p["work_mem"]);
        Assert.Equal("256MB", p["min_wal_size"]);
        Assert.Equal("1GB", p["max_wal_size"]);
        Assert.All(_parallelSettings, s => Assert.False(p.ContainsKey(s), s));
        Assert.False(p.ContainsKey("huge_pages"));
        Assert.Equal(12, p.Count);
    }

    [Fact]
    public void ManyCpusCapParallelismAndMaintenanceMemory()
    {
        // 64GB, 32 CPUs, 200 connections: workers per gather min(4, 16) = 4;
        // work_mem = 48GB / 600 / 4 = 21474836 B -> 20971kB; maintenance min(4GB, 2GB).
        var p = Tune(64 * ByteSize.GB, 32, 200, StorageKind.Ssd);

        Assert.Equal("16GB", p["shared_buffers"]);
        Assert.Equal("48GB", p["effective_cache_size"]);
        Assert.Equal("2GB", p["maintenance_work_mem"]);
        Assert.Equal("20971kB", p["work_mem"]);
        Assert.Equal("16MB", p["wal_buffers"]);
        Assert.Equal("32", p["max_worker_processes"]);
        Assert.Equal("4", p["max_parallel_workers_per_gather"]);
        Assert.Equal("32", p["max_parallel_workers"]);
        Assert.Equal("4", p["max_parallel_maintenance_workers"]);
        Assert.Equal("try", p["huge_pages"]);
    }

    [Fact]
    public void OddRamSizeIsFlooredToWholePages()
    {
        // MemTotal 16314340 kB as /proc/meminfo reports it: 25% = 4176471040 B, floored to 8kB pages
        // = 4176470016 B = 4078584kB; 75% likewise = 12235752kB.
        var p = Tune(16314340 * ByteSize.KB, 4, 200, StorageKind.Ssd);

        Assert.Equal("4078584kB", p["shared_buffers"]);
        Assert.Equal("12235752kB", p["effective_cache_size"]);
        Assert.Equal("1019647kB", p["maintenance_work_mem"]);
        Assert.Equal("10196kB", p["work_mem"]);
    }

    [Theory]
    [InlineData(2L * 1024, "512MB", "1536MB")]
    [InlineData(3000L, "750MB", "2250MB")]
    [InlineData(4L * 1024, "1GB", "3GB")]
    [InlineData(6L * 1024, "1536MB", "4608MB")]
    [InlineData(32L * 1024, "8GB", "24GB")]
    [InlineData(256L * 1024, "64GB", "192GB")]
    public void SharedBuffersIsAQuarterAndCacheThreeQuartersOfRam(long ramMb, string sharedBuffers, string effectiveCache)
    {
        var p = Tune(ramMb * ByteSize.MB, 2, 200, StorageKind.Ssd);

        Assert.Equal(sharedBuffers, p["shared_buffers"]);
        Assert.Equal(effectiveCache, p["effective_cache_size"]);
    }

    [Theory]
    [InlineData(64L, "try")]
    [InlineData(32L, "try")]
    [InlineData(31L, null)]
    [InlineData(16L, null)]
    public void HugePagesOnlyFromEightGigabytesOfSharedBuffers(long ramGb, string? expected)
    {
        var p = Tune(ramGb * ByteSize.GB, 8, 200, StorageKind.Ssd);

        Assert.Equal(expected, p.GetValueOrDefault("huge_pages"));
    }

    [Fact]
    public void RejectsImpossibleHardware()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tune(100 * ByteSize.MB, 4, 200, StorageKind.Ssd));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tune(4 * ByteSize.GB, 0, 200, StorageKind.Ssd));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tune(4 * ByteSize.GB, 4, 5, StorageKind.Ssd));
    }
}
