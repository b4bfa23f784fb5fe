using System.Text.Json.Serialization;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// The one message on the payment-results queue: every source of truth arrives in this shape. Fields are the raw,
/// MAC-verified strings as ECPay sent them (CheckMacValue included, so Settlement verifies again).
/// </summary>
public sealed record PaymentResultMessage(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("fields")] IReadOnlyDictionary<string, string> Fields,
    [property: JsonPropertyName("receivedAt")] DateTimeOffset ReceivedAt);

[JsonSerializable(typeof(PaymentResultMessage))]
public sealed partial class PaymentResultJsonContext : JsonSerializerContext;
