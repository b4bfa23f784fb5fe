using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EcpayEvents.Messaging.StepFunctions;

// The contract of statemachine/payment-timeout.asl.json: its execution input (also what the Reconcile
// task receives) and what the Timeouts service answers to Reconcile.

/// <summary>Input of one payment-timeout execution, named after the MerchantTradeNo.</summary>
public sealed record PaymentTimeoutInput(
    [property: JsonPropertyName("transactionId")] long TransactionId,
    [property: JsonPropertyName("merchantTradeNo")] string MerchantTradeNo,
    [property: JsonPropertyName("expiresAt"), JsonConverter(typeof(Rfc3339UtcConverter))] DateTimeOffset ExpiresAt)
{
    public string ToJson() => JsonSerializer.Serialize(this, PaymentTimeoutJsonContext.Default.PaymentTimeoutInput);
}

/// <summary>What Reconcile answers. <see cref="ExpiresAt"/> only with <see cref="ReconcileOutcome.Extend"/>.</summary>
public sealed record ReconcileAnswer(
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("expiresAt"), JsonConverter(typeof(Rfc3339UtcConverter))] DateTimeOffset? ExpiresAt = null);

/// <summary>The outcomes the state machine's DecideOutcome understands; anything else ends in NeedsReview.</summary>
public static class ReconcileOutcome
{
    /// <summary>The transaction was no longer pending (failed or expired; completed too when the execution does not ask for confirmation).</summary>
    public const string Settled = "settled";
    /// <summary>Completed, and ECPay's QueryTradeInfo confirms the credit (paid, same amount, same TradeNo).</summary>
    public const string Confirmed = "confirmed";
    /// <summary>Completed, but QueryTradeInfo does not confirm the credit: the transaction is flagged for review (the credit stays).</summary>
    public const string Unconfirmed = "unconfirmed";
    /// <summary>ECPay says paid; the result went to the payment-results queue.</summary>
    public const string Paid = "paid";
    /// <summary>ECPay says unpaid; the pending transaction was expired.</summary>
    public const string Expired = "expired";
    /// <summary>Wait again until the later expiresAt: ECPay moved the deadline (ATM/CVS code issued), or a credit is confirmed later.</summary>
    public const string Extend = "extend";
    /// <summary>No transaction, past the deadline, and ECPay never saw the order: the deposit was rolled back after its timer started (Succeed state NoSuchPayment).</summary>
    public const string Abandoned = "abandoned";
}

/// <summary>
/// Writes "yyyy-MM-ddTHH:mm:ss.fffZ": the Wait state's TimestampPath needs RFC 3339, and UTC keeps the
/// history readable. Reads any ISO 8601 form.
/// </summary>
public sealed class Rfc3339UtcConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
}

[JsonSerializable(typeof(PaymentTimeoutInput))]
[JsonSerializable(typeof(ReconcileAnswer))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class PaymentTimeoutJsonContext : JsonSerializerContext;
