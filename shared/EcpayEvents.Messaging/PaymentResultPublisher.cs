using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace EcpayEvents.Messaging;

/// <summary>
/// Puts a <see cref="PaymentResultMessage"/> on the payment-results queue: one SendMessage, the
/// message as JSON, and <c>merchantTradeNo</c>/<c>source</c> as message attributes so operators can
/// see what a message is about without parsing it (e.g. in the DLQ). The whole call, the SDK's retries
/// included, is bounded by <paramref name="budget"/> (none when null).
/// </summary>
public sealed class PaymentResultPublisher(IAmazonSQS sqs, string queueUrl, TimeSpan? budget = null)
{
    public const string MerchantTradeNoAttribute = "merchantTradeNo";
    public const string SourceAttribute = "source";

    /// <summary>
    /// Sends the message and returns SQS's message id. Throws when SQS does not accept it, or
    /// <see cref="TimeoutException"/> when the budget is spent (SQS may still have taken it: a duplicate is harmless).
    /// </summary>
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
            MessageBody = JsonSerializer.Serialize(message, MessagingJsonContext.Default.PaymentResultMessage),
            MessageAttributes = attributes,
        }, ct);
        return response.MessageId;
    }
}
