namespace PgWarden.Backup.Verify;

/// <summary>
/// Reads COPY text: the rows of one table (a slice, or psql's COPY … TO STDOUT), or every COPY block of
/// an SQL script (pg_dump plain output, pg_restore -f - --data-only): <c>COPY name (columns) FROM stdin;</c>,
/// rows, then a line <c>\.</c>. Works on bytes, so the server encoding is kept as it is.
/// </summary>
public static class CopyText
{
    public delegate void LineHandler(ReadOnlySpan<byte> line);

    /// <summary>Calls <paramref name="handler"/> for every '\n'-terminated line (and a last unterminated one), without the '\n'.</summary>
    public static void ForEachLine(Stream stream, LineHandler handler)
    {
        var buffer = new byte[1 << 20];
        var filled = 0;
        while (true)
        {
            var n = stream.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
            {
                if (filled > 0)
                {
                    handler(buffer.AsSpan(0, filled));
                }
                return;
            }
            filled += n;
            var start = 0;
            while (true)
            {
                var nl = buffer.AsSpan(start, filled - start).IndexOf((byte)'\n');
                if (nl < 0)
                {
                    break;
                }
                handler(buffer.AsSpan(start, nl));
                start += nl + 1;
            }
            Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
            filled -= start;
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }
        }
    }

    /// <summary>The digest of a stream of rows (no COPY header; stops at a <c>\.</c> line if there is one).</summary>
    public static RowMultiset Rows(Stream stream)
    {
        var rows = new RowMultiset();
        var ended = false;
        ForEachLine(stream, line =>
        {
            if (ended || line.SequenceEqual("\\."u8))
            {
                ended = true;
                return;
            }
            rows.Add(line);
        });
        return rows;
    }

    /// <summary>The digest of every COPY block of an SQL script, by (schema, table) as named in the COPY statement.</summary>
    public static Dictionary<(string Schema, string Table), RowMultiset> Blocks(Stream script)
    {
        var tables = new Dictionary<(string, string), RowMultiset>();
        RowMultiset? current = null;
        ForEachLine(script, line =>
        {
            if (current is not null)
            {
                if (line.SequenceEqual("\\."u8))
                {
                    current = null;
                }
                else
                {
                    current.Add(line);
                }
                return;
            }
            if (line.StartsWith("COPY "u8) && line.EndsWith(" FROM stdin;"u8) && ParseName(System.Text.Encoding.UTF8.GetString(line[5..^12])) is { } name)
            {
                current = tables.TryGetValue(name, out var existing) ? existing : tables[name] = new RowMultiset();
            }
        });
        return tables;
    }

    /// <summary>Schema and table of <c>schema.table (columns)</c> as pg_dump writes it (fmtQualifiedId: quoted where needed); null when it is not one.</summary>
    public static (string Schema, string Table)? ParseName(string text)
    {
        var parts = new List<string>();
        var i = 0;
        while (i < text.Length && parts.Count < 2)
        {
            var part = new System.Text.StringBuilder();
            if (text[i] == '"')
            {
                i++;
                while (i < text.Length)
                {
                    if (text[i] == '"' && i + 1 < text.Length && text[i + 1] == '"')
                    {
                        part.Append('"');
                        i += 2;
                    }
                    else if (text[i] == '"')
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        part.Append(text[i++]);
                    }
                }
            }
            else
            {
                while (i < text.Length && text[i] is not ('.' or ' '))
                {
                    part.Append(text[i++]);
                }
            }
            parts.Add(part.ToString());
            if (i < text.Length && text[i] == '.')
            {
                i++;
            }
            else
            {
                break;
            }
        }
        return parts.Count == 2 ? (parts[0], parts[1]) : null;
    }
}
