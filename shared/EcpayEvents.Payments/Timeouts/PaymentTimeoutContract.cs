using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EcpayEvents.Payments.Timeouts;

// The contract of statemachine/payment-timeout.asl.json, in one place: what an execution starts with, what its
// Reconcile task receives, and what the Timeouts service answers. The scheduler (StepFunctionsTimeoutScheduler),
// the Timeouts service and the ASL use exactly these names; PaymentTimeoutContractTests checks the ASL against them.

/// <summary>Input of one payment-timeout execution, named after the MerchantTradeNo.</summary>
public sealed record PaymentTimeoutInput(
    [property: JsonPropertyName("transactionId")] long TransactionId,
    [property: JsonPropertyName("merchantTradeNo")] string MerchantTradeNo,
    [property: JsonPropertyName("expiresAt"), JsonConverter(typeof(Rfc3339UtcConverter))] DateTimeOffset ExpiresAt)
{
    public string ToJson() => JsonSerializer.Serialize(this, PaymentTimeoutJsonContext.Default.PaymentTimeoutInput);
}

/// <summary>
/// What the Reconcile task receives: the execution's state plus <c>$$.Execution.Name</c> (for the logs) and
/// <c>confirmCredit</c>, set by definitions that understand confirmed/unconfirmed (older executions answer settled).
/// </summary>
public sealed record ReconcileTaskInput(
    [property: JsonPropertyName("transactionId")] long TransactionId,
    [property: JsonPropertyName("merchantTradeNo")] string? MerchantTradeNo,
    [property: JsonPropertyName("expiresAt"), JsonConverter(typeof(Rfc3339UtcConverter))] DateTimeOffset ExpiresAt,
    [property: JsonPropertyName("executionName")] string? ExecutionName = null,
    [property: JsonPropertyName("confirmCredit")] bool ConfirmCredit = false);

/// <summary>
/// What Reconcile answers. <see cref="ExpiresAt"/> and <see cref="Next"/> only with <see cref="ReconcileOutcome.Extend"/>:
/// <see cref="Next"/> is the execution's state to wait with (the state machine takes it as is, without a Pass state's
/// billed transition); <see cref="ExpiresAt"/> is what definitions before it read.
/// </summary>
public sealed record ReconcileAnswer(
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("expiresAt"), JsonConverter(typeof(Rfc3339UtcConverter))] DateTimeOffset? ExpiresAt = null,
    [property: JsonPropertyName("next")] PaymentTimeoutInput? Next = null)
{
    /// <summary>Wait again: the same payment, until <paramref name="expiresAt"/>.</summary>
    public static ReconcileAnswer ExtendTo(PaymentTimeoutInput input, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new(ReconcileOutcome.Extend, expiresAt, input with { ExpiresAt = expiresAt });
    }
}

/// <summary>The outcomes the state machine's DecideOutcome understands; anything else ends in NeedsReview.</summary>
public static class ReconcileOutcome
{
    /// <summary>No longer pending (failed or expired; completed too when the execution does not ask for confirmation).</summary>
    public const string Settled = "settled";
    /// <summary>Completed, and QueryTradeInfo confirms the credit (paid, same amount, same TradeNo).</summary>
    public const string Confirmed = "confirmed";
    /// <summary>Completed, but QueryTradeInfo does not confirm the credit: flagged for review (the credit stays).</summary>
    public const string Unconfirmed = "unconfirmed";
    /// <summary>ECPay says paid; the result went to the payment-results queue.</summary>
    public const string Paid = "paid";
    /// <summary>ECPay says unpaid; the pending transaction was expired.</summary>
    public const string Expired = "expired";
    /// <summary>Wait again until the later expiresAt (ATM/CVS number issued, or a credit confirmed later).</summary>
    public const string Extend = "extend";
    /// <summary>No transaction, past the deadline, and ECPay never saw the order (Succeed state NoSuchPayment).</summary>
    public const string Abandoned = "abandoned";

    public static IReadOnlyList<string> All { get; } = [Settled, Confirmed, Unconfirmed, Paid, Expired, Extend, Abandoned];
}

/// <summary>Writes "yyyy-MM-ddTHH:mm:ss.fffZ" (the Wait state's TimestampPath needs RFC 3339); reads any ISO 8601 form.</summary>
public sealed class Rfc3339UtcConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
}

[JsonSerializable(typeof(PaymentTimeoutInput))]
[JsonSerializable(typeof(ReconcileTaskInput))]
[JsonSerializable(typeof(ReconcileAnswer))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class PaymentTimeoutJsonContext : JsonSerializerContext;
