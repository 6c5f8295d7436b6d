using System.CommandLine;
using PgWarden.Cli.Runtime;
using PgWarden.Core.Errors;
using PgWarden.Core.Tuning;
using PgWarden.Core.Units;
using Spectre.Console;

namespace PgWarden.Cli.Commands;

/// <summary>`pgwarden tune`: prints the PostgreSQL settings computed for a host.</summary>
public static class TuneCommand
{
    public static Command Create()
    {
        var ram = new Option<string?>("--ram") { Description = "memory, e.g. 16GB (default: this host's)" };
        var cpus = new Option<int?>("--cpus") { Description = "CPU cores (default: this host's)" };
        var connections = new Option<int>("--connections") { Description = "max_connections", DefaultValueFactory = _ => 200 };
        var storage = new Option<string?>("--storage") { Description = "ssd, hdd or san (default: detected)" };
        var conf = new Option<bool>("--conf") { Description = "print postgresql.conf lines instead of a table" };
        var json = CommandAction.JsonOption();
        var cmd = new Command("tune", "compute memory, checkpoint and planner settings from the hardware") { ram, cpus, connections, storage, conf, json };
        CommandAction.Set(cmd, (p, _) =>
        {
            var ramBytes = HostDetector.RamBytes();
            if (p.GetValue(ram) is { } ramText && (!ByteSize.TryParse(ramText, out ramBytes) || ramBytes < 256 * ByteSize.MB || ramBytes > 64 * ByteSize.TB))
            {
                throw new PgWardenException(ExitCodes.Usage, $"--ram: '{ramText}' is not a memory size between 256MB and 64TB (e.g. 16GB)");
            }
            var cpuCount = p.GetValue(cpus) ?? Environment.ProcessorCount;
            if (cpuCount is < 1 or > 1024)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--cpus: {cpuCount} is out of range (1..1024)");
            }
            var conns = p.GetValue(connections);
            if (conns is < 10 or > 10000)
            {
                throw new PgWardenException(ExitCodes.Usage, $"--connections: {conns} is out of range (10..10000)");
            }
            var kind = HostDetector.Storage();
            if (p.GetValue(storage) is { } s)
            {
                kind = Core.Config.ConfigLoader.ParseStorage(s) ?? throw new PgWardenException(ExitCodes.Usage, $"--storage: '{s}' must be one of ssd, hdd, san");
            }
            var hw = new HardwareProfile(ramBytes, cpuCount, kind, conns);
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
                foreach (var t in tuned)
                {
                    Console.WriteLine($"{t.Name} = {t.Value}    # {t.Why}");
                }
                return Task.FromResult(0);
            }
            Console.WriteLine($"Settings for {ByteSize.Human(ramBytes)} RAM, {cpuCount} CPUs, {kind.ToString().ToUpperInvariant()}, {conns} connections:");
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
