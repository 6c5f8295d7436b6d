namespace PgWarden.Core.Install;

/// <summary>
/// One generated file: <see cref="FileName"/> in an --output directory, <see cref="InstallPath"/> on the
/// host (absolute) with --system; <see cref="Mode"/> as an octal permission (0644 unless it says otherwise).
/// </summary>
public sealed record InstallFile(InstallFileKind Kind, string FileName, string InstallPath, string Content, UnixFileMode Mode)
{
    public const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
}
