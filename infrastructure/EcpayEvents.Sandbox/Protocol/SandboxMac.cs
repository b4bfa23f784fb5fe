using System.Security.Cryptography;
using System.Text;

namespace EcpayEvents.Sandbox.Protocol;

/// <summary>
/// CheckMacValue as ECPay documents it (developers.ecpay.com.tw/?p=2902, 附錄 "檢查碼機制"), the sandbox's own:
/// every field but CheckMacValue, sorted by key A→Z ignoring case, joined <c>k=v</c> with <c>&amp;</c> between
/// <c>HashKey=…</c> and <c>HashIV=…</c>, URL-encoded (.NET style), lower-cased, hashed (SHA256 for EncryptType 1,
/// MD5 for the legacy APIs), upper-case hex. Tests hold it to ECPay's published vectors and the Node SDK.
/// </summary>
public static class SandboxMac
{
    public const string FieldName = "CheckMacValue";

    public static string Compute(IEnumerable<KeyValuePair<string, string>> fields, string hashKey, string hashIv, bool md5 = false)
    {
        // ECPay's SDKs compare lower-cased keys (PHP strcasecmp, Python str.lower); equal ones keep a fixed order.
        var sorted = fields.Where(f => f.Key != FieldName)
            .OrderBy(f => f.Key.ToLowerInvariant(), StringComparer.Ordinal)
            .ThenBy(f => f.Key, StringComparer.Ordinal);
        var joined = "HashKey=" + hashKey + string.Concat(sorted.Select(f => "&" + f.Key + "=" + f.Value)) + "&HashIV=" + hashIv;
        var input = Encoding.ASCII.GetBytes(EcpayUrlEncoding.Encode(joined).ToLowerInvariant());
        return Convert.ToHexString(md5 ? MD5.HashData(input) : SHA256.HashData(input));
    }

    /// <summary>Exactly one CheckMacValue, equal (hex case ignored) to the one computed over the other fields.</summary>
    public static bool Verify(IReadOnlyCollection<KeyValuePair<string, string>> fields, string hashKey, string hashIv)
    {
        var received = fields.Where(f => f.Key == FieldName).Select(f => f.Value).ToList();
        if (received.Count != 1) return false;
        var expected = Encoding.ASCII.GetBytes(Compute(fields, hashKey, hashIv));
        var actual = Encoding.UTF8.GetBytes(received[0].ToUpperInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    /// <summary>The fields with CheckMacValue appended (any earlier one dropped).</summary>
    public static List<KeyValuePair<string, string>> Sign(IEnumerable<KeyValuePair<string, string>> fields, string hashKey, string hashIv)
    {
        var list = fields.Where(f => f.Key != FieldName).ToList();
        list.Add(new(FieldName, Compute(list, hashKey, hashIv)));
        return list;
    }
}
