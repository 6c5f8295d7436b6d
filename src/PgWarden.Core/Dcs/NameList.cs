using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgWarden.Core.Dcs;

/// <summary>
/// An immutable list of names with value equality (records holding it stay comparable by content,
/// which plain arrays and lists are not); serialised as a JSON array of strings.
/// </summary>
[JsonConverter(typeof(NameListJsonConverter))]
public sealed class NameList : IReadOnlyList<string>, IEquatable<NameList>
{
    private readonly string[] _items;

    private NameList(string[] items) => _items = items;

    public static readonly NameList Empty = new([]);

    public static NameList Of(IEnumerable<string>? items) => items is null ? Empty : new([.. items]);

    public int Count => _items.Length;

    public string this[int index] => _items[index];

    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(NameList? other) => other is not null && _items.AsSpan().SequenceEqual(other._items);

    public override bool Equals(object? obj) => Equals(obj as NameList);

    public override int GetHashCode() => _items.Aggregate(_items.Length, (h, s) => HashCode.Combine(h, s));

    public override string ToString() => $"[{string.Join(", ", _items)}]";

    private sealed class NameListJsonConverter : JsonConverter<NameList>
    {
        public override NameList Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Of(JsonSerializer.Deserialize<string[]>(ref reader, options));

        public override void Write(Utf8JsonWriter writer, NameList value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value._items, options);
    }
}
