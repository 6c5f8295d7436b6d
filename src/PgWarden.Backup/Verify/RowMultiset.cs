using System.IO.Hashing;

namespace PgWarden.Backup.Verify;

/// <summary>
/// An order-independent digest of a table's rows as COPY text lines: how many, and the sum (mod 2^64)
/// of each line's XxHash64. Two tables with the same rows in any order have equal digests; a changed
/// byte in any row changes it (with overwhelming probability).
/// </summary>
public sealed class RowMultiset : IEquatable<RowMultiset>
{
    public long Rows { get; private set; }

    public ulong Sum { get; private set; }

    public void Add(ReadOnlySpan<byte> line)
    {
        Rows++;
        Sum = unchecked(Sum + XxHash64.HashToUInt64(line));
    }

    /// <summary>Adds the rows of <paramref name="other"/> (another slice of the same table).</summary>
    public void Merge(RowMultiset other)
    {
        Rows += other.Rows;
        Sum = unchecked(Sum + other.Sum);
    }

    public bool Equals(RowMultiset? other) => other is not null && other.Rows == Rows && other.Sum == Sum;

    public override bool Equals(object? obj) => Equals(obj as RowMultiset);

    public override int GetHashCode() => HashCode.Combine(Rows, Sum);
}
