using System.Buffers;
using System.Globalization;
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

    /// <summary>The CheckMacValue of the fields (a CheckMacValue field among them is left out), as upper-case hex.</summary>
    public static string Compute(IEnumerable<KeyValuePair<string, string>> fields, string hashKey, string hashIv, MacAlgorithm algorithm = MacAlgorithm.Sha256)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(hashKey);
        ArgumentNullException.ThrowIfNull(hashIv);
        using var signed = SignedString.Collect(fields);
        Span<byte> hash = stackalloc byte[MaxHashLength];
        var length = signed.Hash(hashKey, hashIv, algorithm, hash);
        return Convert.ToHexString(hash[..length]);
    }

    /// <summary>The same computation with its intermediate strings, for explaining a mismatch (slower: it builds them).</summary>
    public static MacExplanation Explain(IEnumerable<KeyValuePair<string, string>> fields, string hashKey, string hashIv, MacAlgorithm algorithm = MacAlgorithm.Sha256)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(hashKey);
        ArgumentNullException.ThrowIfNull(hashIv);
        using var signed = SignedString.Collect(fields);
        var raw = signed.Raw(hashKey, hashIv);
        var encoded = EcpayUrlEncoding.LowerCase(raw);
        return new MacExplanation(raw, encoded, Hash(encoded, algorithm), signed.MacCount > 0);
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
        Span<byte> hash = stackalloc byte[MaxHashLength];
        return Convert.ToHexString(hash[..HashData(bytes, algorithm, hash)]);
    }

    /// <summary>
    /// Recomputes the MAC over every field except CheckMacValue and compares it in constant time.
    /// False when there is no CheckMacValue field (or more than one).
    /// </summary>
    public static bool Verify(IEnumerable<KeyValuePair<string, string>> fieldsIncludingMac, string hashKey, string hashIv, MacAlgorithm algorithm = MacAlgorithm.Sha256)
    {
        ArgumentNullException.ThrowIfNull(fieldsIncludingMac);
        using var signed = SignedString.Collect(fieldsIncludingMac);
        if (signed.MacCount != 1 || string.IsNullOrEmpty(signed.Mac))
        {
            return false;
        }
        ArgumentNullException.ThrowIfNull(hashKey);
        ArgumentNullException.ThrowIfNull(hashIv);
        Span<byte> expected = stackalloc byte[MaxHashLength];
        var length = signed.Hash(hashKey, hashIv, algorithm, expected);
        return MatchesHex(expected[..length], signed.Mac);
    }

    /// <summary>The hash of <paramref name="data"/> into <paramref name="hash"/> (at least <see cref="MaxHashLength"/> bytes); returns its length.</summary>
    internal static int HashData(ReadOnlySpan<byte> data, MacAlgorithm algorithm, Span<byte> hash) => algorithm switch
    {
        MacAlgorithm.Sha256 => SHA256.HashData(data, hash),
        MacAlgorithm.Md5 => MD5.HashData(data, hash),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown MAC algorithm."),
    };

    private const int MaxHashLength = SHA256.HashSizeInBytes;

    // Hex in either case, compared as bytes in constant time. Only the received value's length and
    // hex-ness (not secret) decide an early false; no hex string of the expected MAC is made.
    private static bool MatchesHex(ReadOnlySpan<byte> expected, string received)
    {
        Span<byte> receivedBytes = stackalloc byte[MaxHashLength];
        if (received.Length != expected.Length * 2
            || Convert.FromHexString(received, receivedBytes, out _, out var written) != OperationStatus.Done)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(expected, receivedBytes[..written]);
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
