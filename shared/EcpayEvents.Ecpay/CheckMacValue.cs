using System.Buffers;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace EcpayEvents.Ecpay;

/// <summary>Hash used for CheckMacValue: SHA256 for every current AIO API (EncryptType=1), MD5 for a few legacy ones.</summary>
public enum MacAlgorithm
{
    Sha256,
    Md5,
}

/// <summary>The intermediate strings of a CheckMacValue computation, for debugging mismatches.</summary>
/// <param name="Raw">The sorted, joined string before encoding: <c>HashKey=…&amp;k=v…&amp;HashIV=…</c>.</param>
/// <param name="Encoded">The same string URL-encoded (WebUtility.UrlEncode) and lower-cased: the hashed input.</param>
/// <param name="Value">The CheckMacValue (upper-case hex).</param>
/// <param name="IgnoredCheckMacValue">True when the input carried a CheckMacValue field, which was left out.</param>
public sealed record MacExplanation(string Raw, string Encoded, string Value, bool IgnoredCheckMacValue);

/// <summary>
/// ECPay's signature over a set of form fields (附錄 檢查碼機制, developers.ecpay.com.tw/?p=2902). Always computed over the raw
/// strings as posted, never over re-serialised typed values.
/// </summary>
public static class CheckMacValue
{
    public const string FieldName = "CheckMacValue";

    public static string Compute(IEnumerable<KeyValuePair<string, string>> fields, string hashKey, string hashIv, MacAlgorithm algorithm = MacAlgorithm.Sha256)
        => Explain(fields, hashKey, hashIv, algorithm).Value;

    public static MacExplanation Explain(IEnumerable<KeyValuePair<string, string>> fields, string hashKey, string hashIv, MacAlgorithm algorithm = MacAlgorithm.Sha256)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(hashKey);
        ArgumentNullException.ThrowIfNull(hashIv);

        var ignored = false;
        var signed = new List<KeyValuePair<string, string>>();
        foreach (var field in fields)
        {
            if (field.Key == FieldName)
            {
                ignored = true;
                continue;
            }
            signed.Add(new(field.Key ?? "", field.Value ?? ""));
        }

        // ECPay's SDKs sort case-insensitively by lower-casing (PHP strcasecmp, Python str.lower);
        // OrdinalIgnoreCase upper-cases and orders '_' differently. Ties (keys differing only by
        // case) are broken ordinally so the result does not depend on input order.
        var sorted = signed
            .Select((f, i) => (Field: f, Lower: f.Key.ToLowerInvariant(), Index: i))
            .OrderBy(x => x.Lower, StringComparer.Ordinal)
            .ThenBy(x => x.Field.Key, StringComparer.Ordinal)
            .ThenBy(x => x.Index)
            .Select(x => x.Field);

        var raw = new StringBuilder();
        raw.Append("HashKey=").Append(hashKey);
        foreach (var (key, value) in sorted)
        {
            raw.Append('&').Append(key).Append('=').Append(value);
        }
        raw.Append("&HashIV=").Append(hashIv);

        var rawString = raw.ToString();
        // WebUtility.UrlEncode: space → '+', "-_.!*()" kept, everything else as %XX of its UTF-8 bytes.
        var encoded = WebUtility.UrlEncode(rawString).ToLowerInvariant();
        return new MacExplanation(rawString, encoded, Hash(encoded, algorithm), ignored);
    }

    /// <summary>
    /// Why a key or value may not be signed, or null when it may. The signed string joins <c>key=value</c>
    /// pairs with '&amp;' and escapes nothing, so a value holding '&amp;' or '=' can be read back as other fields
    /// under the same MAC: if a client chose it, the server would sign a post of the client's making.
    /// Control characters are refused too (invisible, and a NUL or line break may be cut on the way).
    /// The one rule for every signed value, outbound (<see cref="Sign"/>) and inbound (<see cref="EcpayPostFields"/>).
    /// </summary>
    public static string? SeparatorProblem(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var i = value.AsSpan().IndexOfAny(Unsignable);
        if (i < 0) return null;
        var c = value[i];
        return c is '&' or '='
            ? string.Create(CultureInfo.InvariantCulture, $"contains '{c}' at position {i}; '&' and '=' separate the signed fields and are not allowed.")
            : string.Create(CultureInfo.InvariantCulture, $"contains a control character (U+{(int)c:X4} at position {i}); CR, LF, tab, NUL and other control characters are not allowed.");
    }

    // '&', '=' and every control character (C0, DEL, C1).
    private static readonly SearchValues<char> Unsignable = SearchValues.Create(
        "&=" + new string(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c).ToArray()));

    /// <summary>
    /// The CheckMacValue of fields the server sends (checkout forms, QueryTradeInfo requests): like
    /// <see cref="Compute"/>, but a key or value that could change how the signed string splits is
    /// refused (<see cref="UnsignableFieldException"/>), never signed.
    /// </summary>
    public static string Sign(IEnumerable<KeyValuePair<string, string>> fields, EcpayCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(credentials);
        var list = fields.ToList();
        foreach (var (key, value) in list)
        {
            if (key == FieldName) throw new UnsignableFieldException(key, "CheckMacValue: a field to sign cannot be CheckMacValue itself.");
            if (string.IsNullOrEmpty(key)) throw new UnsignableFieldException("", "A field to sign has an empty name.");
            if (SeparatorProblem(key) is { } keyProblem) throw new UnsignableFieldException(key, $"Field name {keyProblem}");
            if (SeparatorProblem(value ?? "") is { } problem) throw new UnsignableFieldException(key, $"{key} {problem}");
        }
        return Compute(list, credentials.HashKey, credentials.HashIv);
    }

    /// <summary>
    /// The last step: the hash of an already encoded string (<see cref="MacExplanation.Encoded"/>) as
    /// upper-case hex. Public so tools can reproduce a signer's mistakes in the earlier steps.
    /// </summary>
    public static string Hash(string encoded, MacAlgorithm algorithm = MacAlgorithm.Sha256)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        var bytes = Encoding.UTF8.GetBytes(encoded); // ASCII after URL-encoding; UTF-8 so a tool hashing an unencoded string loses nothing
        var hash = algorithm switch
        {
            MacAlgorithm.Sha256 => SHA256.HashData(bytes),
            MacAlgorithm.Md5 => MD5.HashData(bytes),
            _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown MAC algorithm."),
        };
        return Convert.ToHexString(hash);
    }

    /// <summary>
    /// Recomputes the MAC over every field except CheckMacValue and compares it in constant time.
    /// False when there is no CheckMacValue field (or more than one).
    /// </summary>
    public static bool Verify(IEnumerable<KeyValuePair<string, string>> fieldsIncludingMac, string hashKey, string hashIv, MacAlgorithm algorithm = MacAlgorithm.Sha256)
    {
        ArgumentNullException.ThrowIfNull(fieldsIncludingMac);
        var list = fieldsIncludingMac as IReadOnlyCollection<KeyValuePair<string, string>> ?? fieldsIncludingMac.ToList();
        string? received = null;
        var count = 0;
        foreach (var field in list)
        {
            if (field.Key == FieldName)
            {
                received = field.Value;
                count++;
            }
        }
        if (count != 1 || string.IsNullOrEmpty(received))
        {
            return false;
        }
        var expected = Compute(list, hashKey, hashIv, algorithm);
        return FixedTimeEqualsHex(expected, received);
    }

    /// <summary>Constant-time comparison of an expected upper-case hex MAC with a received one (hex case ignored).</summary>
    public static bool FixedTimeEqualsHex(string expected, string received)
    {
        // Upper-casing the received value does not depend on the secret; the comparison itself is constant-time.
        var a = Encoding.UTF8.GetBytes(expected.ToUpperInvariant());
        var b = Encoding.UTF8.GetBytes(received.ToUpperInvariant());
        return CryptographicOperations.FixedTimeEquals(a, b);
    }
}

/// <summary>A field the server was asked to sign whose name or value could change how the signed string splits. Never signed.</summary>
public sealed class UnsignableFieldException(string field, string message) : ArgumentException(message)
{
    /// <summary>The offending field's name.</summary>
    public string Field { get; } = field;
}

/// <summary>A merchant's ECPay credentials. ToString never prints the HashKey or HashIV.</summary>
public sealed record EcpayCredentials(string MerchantId, string HashKey, string HashIv)
{
    /// <summary>ECPay's public stage test merchant (from ECPay's docs; not a secret).</summary>
    public static EcpayCredentials Stage { get; } = new("3002607", "pwFHCqoQZGmho4w6", "EkRm7iFT261dpevs");

    public override string ToString() => $"EcpayCredentials {{ MerchantId = {MerchantId}, HashKey = ***, HashIv = *** }}";
}
