using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// One payment-results message as Settlement reads it before looking anything up: whether its CheckMacValue
/// verifies with our keys, and what its fields say. No I/O; <see cref="SettlementRules.Decide"/> takes it from here.
/// </summary>
public abstract record ReceivedResult(string Source)
{
    /// <summary>The CheckMacValue does not verify: forged, or signed with other keys.</summary>
    public sealed record BadMac(string Source) : ReceivedResult(Source);

    /// <summary>Verified, but not the fields ECPay sends for <paramref name="Source"/>, in their formats.</summary>
    /// <param name="SaysPaid">RtnCode (ReturnURL) or TradeStatus (QueryTradeInfo) is 1: money may have been received.</param>
    /// <param name="MerchantId">MerchantID as sent (null when absent).</param>
    public sealed record Malformed(string Source, string Error, bool SaysPaid, string? MerchantId) : ReceivedResult(Source);

    /// <summary>Verified and read.</summary>
    public sealed record Parsed(PaymentNotice Notice) : ReceivedResult(Notice.Source);

    /// <summary>Verifies the MAC (the producer did too, but anything on the queue is checked again) and parses the fields.</summary>
    public static ReceivedResult Read(string source, IReadOnlyDictionary<string, string> fields, EcpayCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(credentials);
        if (!CheckMacValue.Verify(fields, credentials.HashKey, credentials.HashIv))
            return new BadMac(source);
        return PaymentNotice.TryParse(source, fields, out var notice, out var error)
            ? new Parsed(notice)
            : new Malformed(source, error, ClaimsPayment(source, fields), fields.GetValueOrDefault("MerchantID"));
    }

    /// <summary>The CheckMacValue verified (the dedup key depends on it).</summary>
    public bool MacVerified => this is not BadMac;

    // Whether raw fields claim a payment, read without parsing the rest.
    private static bool ClaimsPayment(string source, IReadOnlyDictionary<string, string> fields) => source switch
    {
        PaymentResultSource.ReturnUrl => fields.GetValueOrDefault("RtnCode")?.Trim() == "1",
        PaymentResultSource.QueryTradeInfo => fields.GetValueOrDefault("TradeStatus")?.Trim() == "1",
        _ => false,
    };
}
