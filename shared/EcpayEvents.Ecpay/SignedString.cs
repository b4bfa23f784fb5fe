using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace EcpayEvents.Ecpay;

/// <summary>
/// What a CheckMacValue signs: <c>HashKey=…&amp;k=v…&amp;HashIV=…</c> over every field but CheckMacValue (a null key
/// or value read as ""), in signing order. Holds the fields in pooled arrays (dispose it) and hashes the encoded
/// string without building it, so verifying a post allocates nothing.
/// </summary>
internal ref struct SignedString : IDisposable
{
    // Up to this many fields an insertion sort (no allocation, and fast for ECPay's 10–40 fields).
    private const int InsertionSortLimit = 32;

    private KeyValuePair<string, string>[] _fields;
    private int _count;
    private int[] _order;
    private string?[]? _lowerCaseKeys; // only for keys with non-ASCII chars
    private ulong[] _prefixes; // each key's first four chars lower-cased, for the sort

    private SignedString(int capacity)
    {
        _fields = ArrayPool<KeyValuePair<string, string>>.Shared.Rent(Math.Max(capacity, 1));
        _order = [];
        _prefixes = [];
    }

    /// <summary>How many CheckMacValue fields the input carried (left out of the signed string).</summary>
    public int MacCount { get; private set; }

    /// <summary>The value of the (last) CheckMacValue field, or null.</summary>
    public string? Mac { get; private set; }

    public static SignedString Collect(IEnumerable<KeyValuePair<string, string>> fields)
    {
        var signed = new SignedString(fields switch
        {
            IReadOnlyCollection<KeyValuePair<string, string>> c => c.Count,
            ICollection<KeyValuePair<string, string>> c => c.Count,
            _ => 32,
        });
        switch (fields)
        {
            case IReadOnlyList<KeyValuePair<string, string>> list: // EcpayForm, arrays, lists: no enumerator
                for (var i = 0; i < list.Count; i++) signed.Add(list[i]);
                break;
            case Dictionary<string, string> dictionary: // Settlement's message fields: a struct enumerator
                foreach (var field in dictionary) signed.Add(field);
                break;
            default:
                foreach (var field in fields) signed.Add(field);
                break;
        }
        signed.Sort();
        return signed;
    }

    /// <summary>The signed string itself, for explaining a mismatch.</summary>
    public readonly string Raw(string hashKey, string hashIv)
    {
        var raw = new StringBuilder();
        raw.Append("HashKey=").Append(hashKey);
        for (var i = 0; i < _count; i++)
        {
            var (key, value) = _fields[_order[i]];
            raw.Append('&').Append(key).Append('=').Append(value);
        }
        return raw.Append("&HashIV=").Append(hashIv).ToString();
    }

    /// <summary>Hashes the encoded signed string into <paramref name="hash"/>; returns the hash's length.</summary>
    public readonly int Hash(string hashKey, string hashIv, MacAlgorithm algorithm, Span<byte> hash)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxEncodedLength(hashKey, hashIv));
        var length = -1;
        try
        {
            length = WriteEncoded(hashKey, hashIv, buffer);
            return CheckMacValue.HashData(buffer.AsSpan(0, length), algorithm, hash);
        }
        finally
        {
            // It holds the HashKey and HashIV: the bytes written, or all of it if writing did not finish.
            CryptographicOperations.ZeroMemory(length < 0 ? buffer : buffer.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        if (_fields.Length > 0) ArrayPool<KeyValuePair<string, string>>.Shared.Return(_fields, clearArray: true);
        if (_order.Length > 0) ArrayPool<int>.Shared.Return(_order);
        if (_prefixes.Length > 0) ArrayPool<ulong>.Shared.Return(_prefixes);
        if (_lowerCaseKeys is not null) ArrayPool<string?>.Shared.Return(_lowerCaseKeys, clearArray: true);
        _fields = [];
        _order = [];
        _prefixes = [];
        _lowerCaseKeys = null;
        _count = 0;
    }

    private void Add(KeyValuePair<string, string> field)
    {
        if (field.Key == CheckMacValue.FieldName)
        {
            MacCount++;
            Mac = field.Value;
            return;
        }
        if (_count == _fields.Length)
        {
            var larger = ArrayPool<KeyValuePair<string, string>>.Shared.Rent(_fields.Length * 2);
            _fields.AsSpan(0, _count).CopyTo(larger);
            ArrayPool<KeyValuePair<string, string>>.Shared.Return(_fields, clearArray: true);
            _fields = larger;
        }
        _fields[_count++] = new(field.Key ?? "", field.Value ?? "");
    }

    // ECPay's SDKs sort case-insensitively by lower-casing (PHP strcasecmp, Python str.lower);
    // OrdinalIgnoreCase upper-cases and orders '_' differently. Ties (keys differing only by
    // case) are broken ordinally, then by arrival, so the result does not depend on input order.
    private void Sort()
    {
        for (var i = 0; i < _count; i++)
        {
            var key = _fields[i].Key;
            if (!Ascii.IsValid(key))
            {
                _lowerCaseKeys ??= ArrayPool<string?>.Shared.Rent(_count);
                _lowerCaseKeys[i] = key.ToLowerInvariant();
            }
        }
        _prefixes = ArrayPool<ulong>.Shared.Rent(Math.Max(_count, 1));
        for (var i = 0; i < _count; i++)
        {
            _prefixes[i] = SigningOrder.Prefix(_lowerCaseKeys?[i] ?? _fields[i].Key);
        }
        _order = ArrayPool<int>.Shared.Rent(Math.Max(_count, 1));
        var order = _order.AsSpan(0, _count);
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var comparer = new SigningOrder(_fields, _lowerCaseKeys, _prefixes);
        if (order.Length <= InsertionSortLimit)
        {
            for (var i = 1; i < order.Length; i++)
            {
                var current = order[i];
                var j = i - 1;
                for (; j >= 0 && comparer.Compare(order[j], current) > 0; j--) order[j + 1] = order[j];
                order[j + 1] = current;
            }
        }
        else
        {
            order.Sort(comparer);
        }
    }

    private readonly int MaxEncodedLength(string hashKey, string hashIv)
    {
        var chars = "HashKey=".Length + hashKey.Length + "&HashIV=".Length + hashIv.Length;
        for (var i = 0; i < _count; i++)
        {
            chars = checked(chars + 2 + _fields[i].Key.Length + _fields[i].Value.Length);
        }
        return checked(chars * EcpayUrlEncoding.MaxBytesPerChar);
    }

    // The separators are written already encoded: "HashKey=" → "hashkey%3d", '&' → "%26", '=' → "%3d".
    private readonly int WriteEncoded(string hashKey, string hashIv, Span<byte> destination)
    {
        var written = Append("hashkey%3d"u8, destination, 0);
        written += EcpayUrlEncoding.WriteLowerCase(hashKey, destination[written..]);
        for (var i = 0; i < _count; i++)
        {
            var (key, value) = _fields[_order[i]];
            written = Append("%26"u8, destination, written);
            written += EcpayUrlEncoding.WriteLowerCase(key, destination[written..]);
            written = Append("%3d"u8, destination, written);
            written += EcpayUrlEncoding.WriteLowerCase(value, destination[written..]);
        }
        written = Append("%26hashiv%3d"u8, destination, written);
        written += EcpayUrlEncoding.WriteLowerCase(hashIv, destination[written..]);
        return written;
    }

    private static int Append(ReadOnlySpan<byte> encoded, Span<byte> destination, int at)
    {
        encoded.CopyTo(destination[at..]);
        return at + encoded.Length;
    }

    /// <summary>Field positions by key lower-cased (ordinal), then key (ordinal), then position.</summary>
    private readonly struct SigningOrder(KeyValuePair<string, string>[] fields, string?[]? lowerCaseKeys, ulong[] prefixes) : IComparer<int>
    {
        /// <summary>
        /// The first four chars of a key, lower-cased, 16 bits each (0 past its end): ordered as the keys are, so
        /// most comparisons end with one number. Equal prefixes are compared in full.
        /// </summary>
        public static ulong Prefix(string key)
        {
            var prefix = 0ul;
            for (var i = 0; i < 4; i++)
            {
                prefix = (prefix << 16) | (uint)(i < key.Length ? ToLowerAscii(key[i]) : 0);
            }
            return prefix;
        }

        public int Compare(int a, int b)
        {
            if (prefixes[a] != prefixes[b]) return prefixes[a] < prefixes[b] ? -1 : 1;
            var byLowerCase = CompareLowerCase(lowerCaseKeys?[a] ?? fields[a].Key, lowerCaseKeys?[b] ?? fields[b].Key);
            if (byLowerCase != 0) return byLowerCase;
            var byKey = string.CompareOrdinal(fields[a].Key, fields[b].Key);
            return byKey != 0 ? byKey : a.CompareTo(b);
        }

        // Ordinal order of the ToLowerInvariant strings: an ASCII key is lower-cased here, a non-ASCII one was before.
        // Keys often share a prefix (CustomField1…4, TradeAmt/TradeDate): skip identical runs, then compare lower-cased.
        private static int CompareLowerCase(string a, string b)
        {
            var length = Math.Min(a.Length, b.Length);
            for (var i = a.AsSpan(0, length).CommonPrefixLength(b.AsSpan(0, length)); i < length; i++)
            {
                var difference = ToLowerAscii(a[i]) - ToLowerAscii(b[i]);
                if (difference != 0) return difference;
            }
            return a.Length - b.Length;
        }

        private static int ToLowerAscii(char c) => char.IsAsciiLetterUpper(c) ? c | 0x20 : c;
    }
}
