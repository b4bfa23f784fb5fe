using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace EcpayEvents.Messaging;

/// <summary>
/// Puts a <see cref="PaymentResultMessage"/> on the payment-results queue: one SendMessage, the
/// message as JSON, and <c>merchantTradeNo</c>/<c>source</c> as message attributes so operators can
/// see what a message is about without parsing it (e.g. in the DLQ).
/// </summary>
public sealed class PaymentResultPublisher(IAmazonSQS sqs, string queueUrl)
{
    public const string MerchantTradeNoAttribute = "merchantTradeNo";
    public const string SourceAttribute = "source";

    /// <summary>Sends the message and returns SQS's message id. Throws when SQS does not accept it.</summary>
    public async Task<string> PublishAsync(PaymentResultMessage message, CancellationToken ct = default)
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
