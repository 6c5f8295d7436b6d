using PgWarden.Core.Config;

namespace PgWarden.Core.Tests;

/// <summary>Fault 13: the demo cluster and the example configuration come with backups — a filesystem repository under the cluster directory, archiving, the runbook's schedules.</summary>
public sealed class DemoBackupConfigTests
{
    [Fact]
    public void TheDemoClusterHasARepositoryArchivingAndTheRunbooksSchedules()
    {
        var cluster = ConfigLoader.Parse(DemoClusterConfig.Yaml(), "cluster.yaml", "/var/lib/pgwarden/demo");
        var backup = Assert.IsType<BackupSettings>(cluster.Backup);
        Assert.Equal(RepositoryKind.Fs, backup.Repository);
        Assert.Equal("/var/lib/pgwarden/demo/backups", backup.Path);
        Assert.Equal("0 2 * * *", backup.LogicalSchedule);
        Assert.Equal("0 3 * * 0", backup.PhysicalSchedule);
        Assert.Equal("0 5 * * 0", backup.VerifySchedule);
        Assert.Equal(30, backup.RetentionDays);
        Assert.Equal(300, backup.ArchiveTimeoutSeconds);
    }

    [Fact]
    public void TheExampleConfigurationKeepsItsRepositoryNextToIt()
    {
        var dir = Path.Combine(FindRoot(), "examples");
        var cluster = ConfigLoader.LoadFile(Path.Combine(dir, "cluster.yaml"));
        Assert.Equal(Path.Combine(dir, "backups"), cluster.Backup!.Path);
    }

    private static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "PgWarden.sln")))
        {
            d = d.Parent;
        }
        return d!.FullName;
    }
}
