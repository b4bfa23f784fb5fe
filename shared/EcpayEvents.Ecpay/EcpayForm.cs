using System.Buffers;
using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text;

namespace EcpayEvents.Ecpay;

/// <summary>Why a form body was rejected.</summary>
public enum EcpayFormError
{
    /// <summary>A '%' not followed by two hex digits.</summary>
    BadPercentEncoding,
    /// <summary>The percent-decoded bytes are not valid UTF-8 (or the body held a lone surrogate).</summary>
    InvalidUtf8,
    /// <summary>The same key (exact, case-sensitive) appears twice.</summary>
    DuplicateKey,
    /// <summary>A field with an empty key, including an empty segment such as "a=1&amp;&amp;b=2" or a trailing '&amp;'.</summary>
    EmptyKey,
    /// <summary>A segment without '='.</summary>
    MissingEquals,
}

public sealed class EcpayFormException(EcpayFormError reason, string message) : FormatException(message)
{
    public EcpayFormError Reason { get; } = reason;
}

/// <summary>
/// An <c>application/x-www-form-urlencoded</c> body as posted: decoded fields in their original
/// order, looked up by exact key. Verify CheckMacValue over this, not over typed values.
/// </summary>
public sealed class EcpayForm : IReadOnlyList<KeyValuePair<string, string>>
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly List<KeyValuePair<string, string>> _fields;
    private readonly Dictionary<string, string> _byKey;

    private EcpayForm(List<KeyValuePair<string, string>> fields, Dictionary<string, string> byKey)
    {
        _fields = fields;
        _byKey = byKey;
    }

    public IReadOnlyList<KeyValuePair<string, string>> Fields => _fields;

    public int Count => _fields.Count;

    public KeyValuePair<string, string> this[int index] => _fields[index];

    /// <summary>The value of the field with exactly this key, or null when absent.</summary>
    public string? this[string key] => _byKey.GetValueOrDefault(key);

    public bool Contains(string key) => _byKey.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value) => _byKey.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Builds a form from decoded fields (same rules: no empty or duplicate keys).</summary>
    public static EcpayForm FromFields(IEnumerable<KeyValuePair<string, string>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var list = new List<KeyValuePair<string, string>>();
        var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in fields)
        {
            if (string.IsNullOrEmpty(key))
            {
                throw new EcpayFormException(EcpayFormError.EmptyKey, $"Field {list.Count + 1} has an empty key.");
            }
            if (!byKey.TryAdd(key, value ?? ""))
            {
                throw new EcpayFormException(EcpayFormError.DuplicateKey, $"Duplicate key '{key}'.");
            }
            list.Add(new(key, value ?? ""));
        }
        return new EcpayForm(list, byKey);
    }

    public static EcpayForm Parse(string body)
    {
        if (!TryParse(body, out var form, out var reason, out var error))
        {
            throw new EcpayFormException(reason, error);
        }
        return form;
    }

    public static bool TryParse(string body, [NotNullWhen(true)] out EcpayForm? form, [NotNullWhen(false)] out string? error)
        => TryParse(body, out form, out _, out error);

    public static bool TryParse(string body, [NotNullWhen(true)] out EcpayForm? form, out EcpayFormError reason, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(body);
        form = null;
        reason = default;
        error = null;
        var list = new List<KeyValuePair<string, string>>();
        var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
        if (body.Length == 0)
        {
            form = new EcpayForm(list, byKey);
            return true;
        }

        var index = 0;
        var rest = body.AsSpan();
        while (true)
        {
            // One segment at a time, sliced from the body (no Split: no array, no segment strings).
            index++;
            var amp = rest.IndexOf('&');
            var segment = amp < 0 ? rest : rest[..amp];
            var eq = segment.IndexOf('=');
            if (eq < 0)
            {
                (reason, error) = segment.Length == 0
                    ? (EcpayFormError.EmptyKey, $"Field {index} is empty (stray '&').")
                    : (EcpayFormError.MissingEquals, $"Field {index} ('{Truncate(segment)}') has no '='.");
                return false;
            }
            if (!TryDecode(segment[..eq], out var key, out reason, out var detail))
            {
                error = $"Key of field {index} ('{Truncate(segment[..eq])}'): {detail}";
                return false;
            }
            if (key.Length == 0)
            {
                reason = EcpayFormError.EmptyKey;
                error = $"Field {index} has an empty key.";
                return false;
            }
            if (!TryDecode(segment[(eq + 1)..], out var value, out reason, out detail))
            {
                error = $"Value of '{key}': {detail}";
                return false;
            }
            if (!byKey.TryAdd(key, value))
            {
                reason = EcpayFormError.DuplicateKey;
                error = $"Duplicate key '{key}' (field {index}).";
                return false;
            }
            list.Add(new(key, value));
            if (amp < 0)
            {
                break;
            }
            rest = rest[(amp + 1)..];
        }
        form = new EcpayForm(list, byKey);
        return true;
    }

    /// <summary>Serialises the fields as a form body (WebUtility.UrlEncode for keys and values).</summary>
    public string ToFormBody() => ToFormBody(_fields);

    public static string ToFormBody(IEnumerable<KeyValuePair<string, string>> fields)
        => string.Join('&', fields.Select(f => WebUtility.UrlEncode(f.Key) + "=" + WebUtility.UrlEncode(f.Value)));

    private static bool TryDecode(ReadOnlySpan<char> s, out string decoded, out EcpayFormError reason, [NotNullWhen(false)] out string? detail)
    {
        decoded = "";
        reason = default;
        detail = null;
        if (s.IndexOfAny('%', '+') < 0)
        {
            // Fast path; still reject lone surrogates, which cannot be UTF-8.
            foreach (var c in s)
            {
                if (char.IsSurrogate(c))
                {
                    return TryDecodeSlow(s, out decoded, out reason, out detail);
                }
            }
            decoded = s.ToString();
            return true;
        }
        return TryDecodeSlow(s, out decoded, out reason, out detail);
    }

    private static bool TryDecodeSlow(ReadOnlySpan<char> s, out string decoded, out EcpayFormError reason, [NotNullWhen(false)] out string? detail)
    {
        // At most three UTF-8 bytes per char (a '%XX' is one byte for three chars).
        var rented = ArrayPool<byte>.Shared.Rent(s.Length * 3);
        try
        {
            return TryDecodeInto(s, rented, out decoded, out reason, out detail);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryDecodeInto(ReadOnlySpan<char> s, byte[] bytes, out string decoded, out EcpayFormError reason, [NotNullWhen(false)] out string? detail)
    {
        decoded = "";
        reason = default;
        detail = null;
        var count = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '%')
            {
                if (i + 2 >= s.Length || !IsHex(s[i + 1]) || !IsHex(s[i + 2]))
                {
                    reason = EcpayFormError.BadPercentEncoding;
                    var end = Math.Min(s.Length, i + 3);
                    detail = $"bad percent-encoding '{s[i..end].ToString()}' at position {i}.";
                    return false;
                }
                bytes[count++] = (byte)((HexValue(s[i + 1]) << 4) | HexValue(s[i + 2]));
                i += 2;
            }
            else if (c == '+')
            {
                bytes[count++] = (byte)' ';
            }
            else if (c < 0x80)
            {
                bytes[count++] = (byte)c;
            }
            else
            {
                if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    count += new Rune(c, s[i + 1]).EncodeToUtf8(bytes.AsSpan(count));
                    i++;
                }
                else if (char.IsSurrogate(c))
                {
                    reason = EcpayFormError.InvalidUtf8;
                    detail = $"lone surrogate U+{(int)c:X4} at position {i}.";
                    return false;
                }
                else
                {
                    count += new Rune(c).EncodeToUtf8(bytes.AsSpan(count));
                }
            }
        }
        try
        {
            decoded = StrictUtf8.GetString(bytes, 0, count);
            return true;
        }
        catch (DecoderFallbackException)
        {
            reason = EcpayFormError.InvalidUtf8;
            detail = "the percent-decoded bytes are not valid UTF-8.";
            return false;
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static string Truncate(ReadOnlySpan<char> s) => s.Length <= 40 ? s.ToString() : string.Concat(s[..40], "…");
}
