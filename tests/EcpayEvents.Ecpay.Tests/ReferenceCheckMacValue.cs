using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace EcpayEvents.Ecpay.Tests;

/// <summary>
/// CheckMacValue built the obvious way, from framework parts only (LINQ sort, WebUtility.UrlEncode,
/// ToLowerInvariant, strings): the implementation CheckMacValue had before it hashed pooled bytes, kept as
/// the oracle its faster code is checked against.
/// </summary>
internal static class ReferenceCheckMacValue
{
    public static MacExplanation Explain(IEnumerable<KeyValuePair<string, string>> fields, string hashKey, string hashIv, MacAlgorithm algorithm)
    {
        var ignored = false;
        var signed = new List<KeyValuePair<string, string>>();
        foreach (var field in fields)
        {
            if (field.Key == CheckMacValue.FieldName)
            {
                ignored = true;
                continue;
            }
            signed.Add(new(field.Key ?? "", field.Value ?? ""));
        }
        var sorted = signed
            .Select((f, i) => (Field: f, Lower: f.Key.ToLowerInvariant(), Index: i))
            .OrderBy(x => x.Lower, StringComparer.Ordinal)
            .ThenBy(x => x.Field.Key, StringComparer.Ordinal)
            .ThenBy(x => x.Index)
            .Select(x => x.Field);
        var raw = new StringBuilder().Append("HashKey=").Append(hashKey);
        foreach (var (key, value) in sorted)
        {
            raw.Append('&').Append(key).Append('=').Append(value);
        }
        var rawString = raw.Append("&HashIV=").Append(hashIv).ToString();
        var encoded = WebUtility.UrlEncode(rawString).ToLowerInvariant();
        var bytes = Encoding.UTF8.GetBytes(encoded);
        var hash = algorithm == MacAlgorithm.Md5 ? MD5.HashData(bytes) : SHA256.HashData(bytes);
        return new MacExplanation(rawString, encoded, Convert.ToHexString(hash), ignored);
    }

    public static bool Verify(IReadOnlyCollection<KeyValuePair<string, string>> fields, string hashKey, string hashIv, MacAlgorithm algorithm)
    {
        var macs = fields.Where(f => f.Key == CheckMacValue.FieldName).ToList();
        if (macs.Count != 1 || string.IsNullOrEmpty(macs[0].Value)) return false;
        var expected = Encoding.UTF8.GetBytes(Explain(fields, hashKey, hashIv, algorithm).Value.ToUpperInvariant());
        var received = Encoding.UTF8.GetBytes(macs[0].Value.ToUpperInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, received);
    }
}
