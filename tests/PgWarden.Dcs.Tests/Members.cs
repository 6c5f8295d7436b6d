using PgWarden.Core.Dcs;
using PgWarden.Core.Ha;

namespace PgWarden.Dcs.Tests;

internal static class Members
{
    public static MemberInfo Sample(string name, NodeRole role = NodeRole.Replica) => new(
        name, role, "running", true, 3, 0x3000060, 0x3000028, $"http://127.0.0.1:8008", "127.0.0.1", 5532, 100, false,
        new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));
}
