using System.Text.Json;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// What a rejected result keeps of its raw fields: a bounded copy. A rejected post is kept for an
/// operator (its reason, MerchantTradeNo, source and times are columns of their own), but a flood of
/// junk must not grow payment_events by 16 KB per message; accepted results are ECPay's few hundred
/// bytes and stay whole. Always valid JSON (an object of strings), so it reads like any other row.
/// </summary>
public static class RejectedRawFields
{
    /// <summary>At most this many characters of JSON (a genuine ECPay post is well under 1,500).</summary>
    public const int MaxChars = 2048;

    private const int MaxKeyChars = 64;
    private const int MaxValueChars = 256;

    /// <summary>The marker key added when anything was left out, with the original size.</summary>
    public const string TruncatedKey = "_truncated";

    public static string Serialize(IReadOnlyDictionary<string, string> fields)
    {
        var whole = JsonSerializer.Serialize(fields, SettlementJsonContext.Default.IReadOnlyDictionaryStringString);
        if (whole.Length <= MaxChars) return whole;

        // Field by field, each clipped, until the budget (kept for the marker) is spent.
        var kept = new Dictionary<string, string>(StringComparer.Ordinal);
        var marker = $"{whole.Length} characters of JSON in {fields.Count} fields; kept the first ones, each clipped to {MaxValueChars}";
        var budget = MaxChars - marker.Length - 64;
        var used = 2;
        foreach (var (key, value) in fields)
        {
            var k = Clip(key, MaxKeyChars);
            var v = Clip(value, MaxValueChars);
            if (kept.ContainsKey(k)) continue;
            // JSON escaping can grow a string (\uXXXX): measure the serialized pair.
            var size = JsonSerializer.Serialize((IReadOnlyDictionary<string, string>)new Dictionary<string, string> { [k] = v }, SettlementJsonContext.Default.IReadOnlyDictionaryStringString).Length - 1;
            if (used + size > budget) break;
            kept[k] = v;
            used += size;
        }
        kept[TruncatedKey] = marker;
        return JsonSerializer.Serialize(kept, SettlementJsonContext.Default.IReadOnlyDictionaryStringString);
    }

    private static string Clip(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}
