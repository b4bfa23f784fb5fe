using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Messaging;

/// <summary>
/// The payment-results queue on SQS: one SendMessage of the message as JSON, with <c>merchantTradeNo</c> and
/// <c>source</c> as attributes so operators can tell messages apart unparsed (e.g. in the DLQ). The whole call,
/// the SDK's retries included, is bounded by <paramref name="budget"/> (none when null).
/// </summary>
public sealed class PaymentResultPublisher(IAmazonSQS sqs, string queueUrl, TimeSpan? budget = null) : IPaymentResultQueue
{
    public const string MerchantTradeNoAttribute = "merchantTradeNo";
    public const string SourceAttribute = "source";

    /// <summary>Throws <see cref="TimeoutException"/> when the budget is spent (SQS may still have taken it: a duplicate is harmless).</summary>
    public async Task<string> PublishAsync(PaymentResultMessage message, CancellationToken ct = default)
    {
        if (budget is not { } limit) return await SendAsync(message, ct);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(limit);
        try
        {
            return await SendAsync(message, bounded.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"SQS did not take the message within {limit.TotalSeconds:0.#} s");
        }
    }

    private async Task<string> SendAsync(PaymentResultMessage message, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(message);
        var attributes = new Dictionary<string, MessageAttributeValue>
        {
            [SourceAttribute] = new() { DataType = "String", StringValue = message.Source },
        };
        if (message.Fields.TryGetValue("MerchantTradeNo", out var merchantTradeNo) && merchantTradeNo.Length > 0)
        {
            attributes[MerchantTradeNoAttribute] = new() { DataType = "String", StringValue = merchantTradeNo };
        }

        var response = await sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = queueUrl,
            MessageBody = JsonSerializer.Serialize(message, PaymentResultJsonContext.Default.PaymentResultMessage),
            MessageAttributes = attributes,
        }, ct);
        return response.MessageId;
    }
}
