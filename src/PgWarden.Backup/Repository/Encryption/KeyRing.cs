namespace PgWarden.Backup.Repository.Encryption;

/// <summary>
/// The master keys a process may use, read from the configured key file and its rotation companions:
/// <c>KEY_FILE</c> (current), <c>KEY_FILE.new</c> (while <c>backup rotate-key</c> runs: the key being
/// rotated to; new files are wrapped under it too) and <c>KEY_FILE.old</c> (after the new key took the
/// file's place, until the rotation has re-wrapped and removed every old wrapping). Every key present
/// is accepted for reading, so an interrupted rotation never makes a file unreadable.
/// </summary>
public sealed class KeyRing
{
    public KeyRing(MasterKey current, MasterKey? next = null, MasterKey? old = null)
    {
        Current = current;
        Next = next;
        Old = old;
    }

    public MasterKey Current { get; }

    /// <summary>The key a running rotation moves to (<c>KEY_FILE.new</c>); null when no rotation is under way.</summary>
    public MasterKey? Next { get; }

    /// <summary>The key a finishing rotation moves away from (<c>KEY_FILE.old</c>).</summary>
    public MasterKey? Old { get; }

    /// <summary>The keys each new data key is wrapped under: the current one and, during a rotation, the next.</summary>
    public IEnumerable<MasterKey> WrapFor => Next is null ? [Current] : [Current, Next];

    /// <summary>Every key accepted for reading, current first.</summary>
    public IEnumerable<MasterKey> Readable => new[] { Current, Next, Old }.OfType<MasterKey>().DistinctBy(k => k.Id);

    public static string NewPath(string keyFile) => keyFile + ".new";

    public static string OldPath(string keyFile) => keyFile + ".old";

    public static KeyRing Load(string keyFile) => new(
        MasterKey.Load(keyFile),
        File.Exists(NewPath(keyFile)) ? MasterKey.Load(NewPath(keyFile)) : null,
        File.Exists(OldPath(keyFile)) ? MasterKey.Load(OldPath(keyFile)) : null);
}
