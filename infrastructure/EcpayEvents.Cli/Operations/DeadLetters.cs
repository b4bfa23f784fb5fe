using System.Globalization;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using EcpayEvents.Messaging;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Cli.Operations;

/// <summary>
/// The payment-results dead-letter queue: messages Settlement failed to settle five times. Read without consuming
/// (each received message is made visible again at once), and redriven onto payment-results: sent there as it
/// was, then deleted here. Settlement records each result once (its dedup key), so a message redriven twice (a
/// delete that failed after the send) still settles once.
/// </summary>
public sealed class DeadLetters(IAmazonSQS sqs, string queueUrl, string deadLetterQueueUrl)
{
    /// <summary>One message in the DLQ, with what it concerns as far as its attributes and body tell.</summary>
    public sealed record Letter(string MessageId, string ReceiptHandle, string Body, DateTimeOffset SentAt, int ReceiveCount,
        string? MerchantTradeNo, string? Source, Dictionary<string, MessageAttributeValue> Attributes, string? Unreadable);

    public string DeadLetterQueueUrl => deadLetterQueueUrl;

    /// <summary>The DLQ of <paramref name="queueUrl"/>, from its RedrivePolicy.</summary>
    public static async Task<string> FindDeadLetterQueueAsync(IAmazonSQS sqs, string queueUrl, CancellationToken ct)
    {
        var attributes = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = queueUrl, AttributeNames = ["RedrivePolicy"] }, ct);
        if (attributes.Attributes?.GetValueOrDefault("RedrivePolicy") is not { } policy)
            throw new CommandLine.UsageException($"the queue {queueUrl} has no dead-letter queue (no RedrivePolicy): pass --dlq-url");
        using var doc = JsonDocument.Parse(policy);
        var arn = doc.RootElement.GetProperty("deadLetterTargetArn").GetString()!;
        var parts = arn.Split(':');
        var answer = await sqs.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = parts[^1], QueueOwnerAWSAccountId = parts[^2] }, ct);
        return answer.QueueUrl;
    }

    /// <summary>Up to <paramref name="limit"/> messages, each made visible again once all are read.</summary>
    public async Task<IReadOnlyList<Letter>> PeekAsync(int limit, CancellationToken ct)
    {
        var letters = await ReceiveAsync(limit, TimeSpan.FromSeconds(30), ct);
        await ReleaseAsync(letters, ct);
        return letters;
    }

    /// <summary>
    /// Moves the messages (all, or those whose id is in <paramref name="ids"/>) back onto payment-results; with
    /// <paramref name="dryRun"/> only says which. Returns the messages moved (or that would be).
    /// </summary>
    public async Task<IReadOnlyList<Letter>> RedriveAsync(IReadOnlySet<string>? ids, bool dryRun, int limit, CancellationToken ct)
    {
        var received = await ReceiveAsync(limit, TimeSpan.FromSeconds(60), ct);
        var chosen = received.Where(l => ids is null || ids.Contains(l.MessageId)).ToList();
        await ReleaseAsync(dryRun ? received : received.Except(chosen).ToList(), ct);
        if (dryRun) return chosen;
        foreach (var letter in chosen)
        {
            await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = queueUrl, MessageBody = letter.Body, MessageAttributes = letter.Attributes }, ct);
            await sqs.DeleteMessageAsync(deadLetterQueueUrl, letter.ReceiptHandle, ct);
        }
        return chosen;
    }

    private async Task<List<Letter>> ReceiveAsync(int limit, TimeSpan hold, CancellationToken ct)
    {
        var letters = new List<Letter>();
        while (letters.Count < limit)
        {
            var answer = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = deadLetterQueueUrl,
                MaxNumberOfMessages = Math.Min(10, limit - letters.Count),
                VisibilityTimeout = (int)hold.TotalSeconds,
                WaitTimeSeconds = 0,
                MessageSystemAttributeNames = ["All"],
                MessageAttributeNames = ["All"],
            }, ct);
            if (answer.Messages is not { Count: > 0 } messages) break;
            letters.AddRange(messages.Select(Read));
        }
        return letters;
    }

    private async Task ReleaseAsync(IReadOnlyList<Letter> letters, CancellationToken ct)
    {
        foreach (var letter in letters)
            await sqs.ChangeMessageVisibilityAsync(deadLetterQueueUrl, letter.ReceiptHandle, 0, ct);
    }

    private static Letter Read(Message m)
    {
        var system = m.Attributes ?? [];
        var attributes = m.MessageAttributes ?? [];
        var sentAt = long.TryParse(system.GetValueOrDefault("SentTimestamp"), CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.MinValue;
        var receives = int.TryParse(system.GetValueOrDefault("ApproximateReceiveCount"), CultureInfo.InvariantCulture, out var n) ? n : 0;
        string? merchantTradeNo = attributes.GetValueOrDefault(PaymentResultPublisher.MerchantTradeNoAttribute)?.StringValue;
        string? source = attributes.GetValueOrDefault(PaymentResultPublisher.SourceAttribute)?.StringValue;
        string? unreadable = null;
        try
        {
            var message = JsonSerializer.Deserialize(m.Body, PaymentResultJsonContext.Default.PaymentResultMessage);
            if (message is null) unreadable = "the body is not a payment result";
            else
            {
                merchantTradeNo ??= message.Fields.GetValueOrDefault("MerchantTradeNo");
                source ??= message.Source;
            }
        }
        catch (JsonException)
        {
            unreadable = "the body is not a payment result (not its JSON shape)";
        }
        return new Letter(m.MessageId, m.ReceiptHandle, m.Body, sentAt, receives, merchantTradeNo, source, attributes, unreadable);
    }
}
