using System.Runtime.InteropServices;

namespace PgWarden.Postgres.Os;

/// <summary>Owner uid/gid of a path, read with statx(2) (not exposed by .NET).</summary>
internal readonly partial struct StatLite
{
    /// <param name="followSymlinks">False: the link itself is examined (AT_SYMLINK_NOFOLLOW), not what it points to.</param>
    public StatLite(string path, bool followSymlinks = true)
    {
        var buffer = new byte[256];
        const int AT_FDCWD = -100;
        const int AT_SYMLINK_NOFOLLOW = 0x100;
        const uint STATX_UID_GID = 0x8 | 0x10;
        if (Statx(AT_FDCWD, path, followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW, STATX_UID_GID, buffer) != 0)
        {
            throw new IOException($"cannot stat {path} (errno {Marshal.GetLastPInvokeError()})");
        }
        // struct statx: stx_mask u32, stx_blksize u32, stx_attributes u64, stx_nlink u32, stx_uid u32, stx_gid u32
        Uid = BitConverter.ToUInt32(buffer, 20);
        Gid = BitConverter.ToUInt32(buffer, 24);
    }

    public uint Uid { get; }

    public uint Gid { get; }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte[] buffer);
}
