using System.Buffers.Binary;

namespace PgWarden.Backup.Wal;

/// <summary>
/// The long page header at the start of every WAL segment (XLogLongPageHeaderData): the standard
/// header (magic u16, info u16, timeline u32, page address u64, remaining length u32, padded to 24
/// bytes), then the system identifier (u64 at offset 24), segment size (u32 at 32) and block size
/// (u32 at 36). Little-endian on every platform PostgreSQL 15 ships for here.
/// </summary>
public sealed record WalHeader(ushort Magic, uint Timeline, ulong PageAddress, ulong SystemIdentifier, uint SegmentSize, uint BlockSize)
{
    private const ushort LongHeaderFlag = 0x0002;

    public const int Length = 40;

    /// <summary>Parses the header; null when the bytes are not a long page header.</summary>
    public static WalHeader? TryParse(ReadOnlySpan<byte> data)
    {
        if (data.Length < Length)
        {
            return null;
        }
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(data);
        var info = BinaryPrimitives.ReadUInt16LittleEndian(data[2..]);
        if ((info & LongHeaderFlag) == 0 || magic < 0xD000 || magic > 0xD1FF)
        {
            return null;
        }
        return new WalHeader(
            magic,
            BinaryPrimitives.ReadUInt32LittleEndian(data[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(data[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(data[24..]),
            BinaryPrimitives.ReadUInt32LittleEndian(data[32..]),
            BinaryPrimitives.ReadUInt32LittleEndian(data[36..]));
    }

    /// <summary>The system identifier in pg_control (its first field, u64 at offset 0).</summary>
    public static ulong ControlFileSystemIdentifier(ReadOnlySpan<byte> pgControl) =>
        BinaryPrimitives.ReadUInt64LittleEndian(pgControl);
}
