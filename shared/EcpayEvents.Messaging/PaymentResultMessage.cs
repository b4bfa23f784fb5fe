using System.Text.Json.Serialization;

namespace EcpayEvents.Messaging;

/// <summary>Where a piece of truth about a payment came from.</summary>
public static class PaymentResultSource
{
    /// <summary>ECPay's server-to-server result post (ReturnURL).</summary>
    public const string ReturnUrl = "ReturnURL";
    /// <summary>ECPay's "ATM/CVS/BARCODE number issued" post (PaymentInfoURL).</summary>
    public const string PaymentInfoUrl = "PaymentInfoURL";
    /// <summary>An answer of QueryTradeInfo/V5, asked by the Timeouts reconcile task.</summary>
    public const string QueryTradeInfo = "QueryTradeInfo";
}

/// <summary>
/// The one message on the payment-results queue. Every source of truth about a payment arrives as
/// this shape and goes through the same settlement rules. Fields are the raw strings as ECPay sent
/// them (already MAC-verified by the producer, CheckMacValue included so it can be re-verified).
/// </summary>
public sealed record PaymentResultMessage(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("fields")] IReadOnlyDictionary<string, string> Fields,
    [property: JsonPropertyName("receivedAt")] DateTimeOffset ReceivedAt);

[JsonSerializable(typeof(PaymentResultMessage))]
[JsonSourceGenerationOptions(WriteIndented = false)]
public sealed partial class MessagingJsonContext : JsonSerializerContext;
