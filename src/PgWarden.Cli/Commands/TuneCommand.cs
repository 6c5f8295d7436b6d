using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Tuning;
using PgWarden.Core.Units;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden tune`: prints the PostgreSQL settings computed for the cluster's hardware (<see cref="TuneProfile"/>), or a host's.</summary>
public static class TuneCommand
{
    public static Command Create()
    {
        var config = CommandAction.ConfigOption();
        var dir = CommandAction.DirOption();
        var ram = new Option<string?>("--ram") { Description = "memory, e.g. 16GB (default: the cluster's hardware.ram, else this host's)" };
        var cpus = new Option<int?>("--cpus") { Description = "CPU cores (default: the cluster's hardware.cpus, else this host's)" };
        var connections = new Option<int?>("--connections") { Description = "max_connections (default: the cluster's postgres.max_connections, else 200)" };
        var storage = new Option<string?>("--storage") { Description = "ssd, hdd or san (default: the cluster's hardware.storage, else detected)" };
        var conf = new Option<bool>("--conf") { Description = "print postgresql.conf lines instead of a table" };
        var json = CommandAction.JsonOption();
        var cmd = new Command("tune", "compute memory, checkpoint and planner settings from the cluster's or this host's hardware") { config, dir, ram, cpus, connections, storage, conf, json };
        CommandAction.Set(cmd, (p, _) =>
        {
            var location = ClusterLocator.Find(p.GetValue(config), p.GetValue(dir));
            var cluster = TuneProfile.Cluster(location);
            var hw = TuneProfile.Resolve(cluster, p.GetValue(ram), p.GetValue(cpus), p.GetValue(connections), p.GetValue(storage),
                () => HostDetector.Profile(null, 200));
            var (ramBytes, cpuCount, kind, conns) = (hw.RamBytes, hw.Cpus, hw.Storage, hw.MaxConnections);
            var tuned = TuningCalculator.Compute(hw);
            if (p.GetValue(json))
            {
                return Task.FromResult(JsonOutput.Result(0, new
                {
                    hardware = new { ram_bytes = ramBytes, cpus = cpuCount, storage = kind, connections = conns },
                    settings = tuned.Select(t => new { t.Name, t.Value, t.Why }),
                }));
            }
            if (p.GetValue(conf))
            {
                Console.WriteLine($"# {ByteSize.Human(ramBytes)} RAM, {cpuCount} CPUs, {kind.ToString().ToUpperInvariant()}, {conns} connections ({(cluster is null ? "this host" : $"cluster {cluster.Name}")})");
                foreach (var t in tuned)
                {
                    Console.WriteLine($"{t.Name} = {t.Value}    # {t.Why}");
                }
                return Task.FromResult(0);
            }
            var source = cluster is null ? "this host" : $"cluster {cluster.Name}, {location.Path}";
            Console.WriteLine($"Settings for {ByteSize.Human(ramBytes)} RAM, {cpuCount} CPUs, {kind.ToString().ToUpperInvariant()}, {conns} connections ({source}):");
            var table = new Table().AddColumns("parameter", "value", "why");
            foreach (var t in tuned)
            {
                table.AddRow(t.Name, t.Value, Markup.Escape(t.Why));
            }
            AnsiConsole.Write(table);
            return Task.FromResult(0);
        });
        return cmd;
    }
}
