using PgWarden.Core.Errors;

namespace PgWarden.Cli.Runtime;

/// <summary>
/// Checks of command-line values, made before a command does any work (nothing unpacked, copied or
/// connected yet). Each failure is one line naming the option and the allowed values, exit 2 (bad command line).
/// </summary>
public static class ArgumentRules
{
    /// <summary><paramref name="value"/> when it is at least <paramref name="min"/>.</summary>
    public static int AtLeast(string option, int value, int min) =>
        value >= min ? value : throw Bad($"{option} must be {min} or more, not {value}");

    /// <summary><paramref name="value"/> when it lies in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static int Between(string option, int value, int min, int max) =>
        value >= min && value <= max ? value : throw Bad($"{option} must be between {min} and {max}, not {value}");

    /// <summary>A TCP port: 1..65535 and nothing listening on it at <paramref name="address"/> (exit 5 when taken).</summary>
    public static int FreePort(string option, int port, string address)
    {
        Between(option, port, 1, 65535);
        return PortProbe.IsFree(address, port) ? port
            : throw new PgWardenException(ExitCodes.PortInUse, $"{option} {port}: something already listens on {address}:{port}{(PortProbe.Holder(port) is { } h ? $" ({h})" : "")}");
    }

    /// <summary><paramref name="value"/> when it is not empty or blank.</summary>
    public static string NotBlank(string option, string? value) =>
        string.IsNullOrWhiteSpace(value) ? throw Bad($"{option} must not be empty") : value;

    public static PgWardenException Bad(string message) => new(ExitCodes.Usage, message);
}
