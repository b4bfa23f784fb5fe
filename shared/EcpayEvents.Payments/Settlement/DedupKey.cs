using System.Security.Cryptography;
using System.Text;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// The identity of a payment event (<c>payment_events.dedup_key</c>): SHA-256 (hex) over the source
/// and the fields that say what happened. Re-sends of the same result map to the same key although
/// ECPay changes RtnMsg on them (交易成功 → paid) and their CheckMacValue then differs; fields that
/// are not listed (RtnMsg, CheckMacValue, fees, custom fields, extras) do not take part. Values are
/// upper-cased: the MAC is computed over a lower-cased string, so a copy with other letter case verifies
/// too and must not count as a new result.
/// </summary>
public static class DedupKey
{
    private static readonly string[] ReturnUrlIdentity =
        ["MerchantID", "MerchantTradeNo", "TradeNo", "RtnCode", "TradeAmt", "PaymentDate", "PaymentType", "SimulatePaid"];

    private static readonly string[] PaymentInfoIdentity =
        ["MerchantID", "MerchantTradeNo", "TradeNo", "RtnCode", "TradeAmt", "PaymentType", "BankCode", "vAccount", "PaymentNo", "Barcode1", "Barcode2", "Barcode3", "ExpireDate"];

    private static readonly string[] QueryTradeInfoIdentity =
        ["MerchantID", "MerchantTradeNo", "TradeNo", "TradeStatus", "TradeAmt", "PaymentDate", "PaymentType"];

    /// <summary>
    /// A message whose MAC does not verify gets a key over ALL its fields (CheckMacValue included) in a
    /// separate space, so a forged copy can never take the key of the genuine result and shadow it.
    /// </summary>
    public static string Compute(string source, IReadOnlyDictionary<string, string> fields, bool macVerified)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(fields);
        var text = new StringBuilder("v1\n").Append(macVerified ? "verified" : "unverified").Append('\n');
        Append(text, "source", source);
        if (macVerified && Identity(source) is { } names)
        {
            foreach (var name in names)
                Append(text, name, fields.TryGetValue(name, out var v) ? v.ToUpperInvariant() : null);
        }
        else
        {
            foreach (var (name, value) in fields.OrderBy(f => f.Key, StringComparer.Ordinal))
                Append(text, name, value);
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string[]? Identity(string source) => source switch
    {
        PaymentResultSource.ReturnUrl => ReturnUrlIdentity,
        PaymentResultSource.PaymentInfoUrl => PaymentInfoIdentity,
        PaymentResultSource.QueryTradeInfo => QueryTradeInfoIdentity,
        _ => null,
    };

    // Length-prefixed so that no choice of values can make two different field sets collide;
    // an absent field (-1) differs from an empty one (0).
    private static void Append(StringBuilder text, string name, string? value) =>
        text.Append(name.Length).Append(':').Append(name).Append('=')
            .Append(value is null ? -1 : value.Length).Append(':').Append(value).Append('\n');
}
