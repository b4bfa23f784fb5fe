using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using EcpayEvents.Messaging;

namespace EcpayEvents.Cli.EventSource;

/// <param name="QueueUrl">The queue to poll.</param>
/// <param name="Target">Where to POST each batch (a service's /events).</param>
/// <param name="BatchSize">1–10 messages per batch.</param>
/// <param name="WaitSeconds">Long-poll wait, 0–20.</param>
/// <param name="VisibilityTimeout">Per-receive visibility timeout in seconds; null: the queue's own.</param>
public sealed record SqsEventSourceOptions(string QueueUrl, Uri Target, int BatchSize = 10, int WaitSeconds = 20, int? VisibilityTimeout = null, string Region = "us-east-1");

/// <summary>What one poll did.</summary>
public sealed record SqsEventSourceBatch(int Received, int Failed, int Deleted, int? HttpStatus, string? Error);

/// <summary>
/// What Lambda's SQS event source mapping does, for the local stack and the tests: long-poll the
/// queue, POST each batch as the Lambda SQS event JSON to the target, delete what succeeded (all on a
/// 2xx with no batchItemFailures, none when the POST fails or is not 2xx, none when an itemIdentifier
/// is empty or not in the batch — Lambda then fails the whole batch) and leave failures to reappear
/// after the visibility timeout (and reach the DLQ after maxReceiveCount).
/// </summary>
public sealed class SqsEventSourceRunner(IAmazonSQS sqs, HttpClient http, SqsEventSourceOptions options, TextWriter log)
{
    private string? queueArn;

    /// <summary>Polls until <paramref name="ct"/> is cancelled; a batch in hand is finished first.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await PollOnceAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // SQS unreachable and the like: keep going, as the event source mapping does.
                WriteLine($"{{\"event\":\"poll-error\",\"error\":{JsonString(e.GetType().Name + ": " + e.Message)}}}");
                try { await Task.Delay(TimeSpan.FromSeconds(1), ct); } catch (OperationCanceledException) { break; }
            }
        }
    }

    /// <summary>One receive → POST → delete round; returns without posting when the queue was empty.</summary>
    public async Task<SqsEventSourceBatch> PollOnceAsync(CancellationToken ct)
    {
        queueArn ??= await ResolveQueueArnAsync(ct);
        var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = options.QueueUrl,
            MaxNumberOfMessages = Math.Clamp(options.BatchSize, 1, 10),
            WaitTimeSeconds = Math.Clamp(options.WaitSeconds, 0, 20),
            VisibilityTimeout = options.VisibilityTimeout,
            MessageSystemAttributeNames = ["All"],
            MessageAttributeNames = ["All"],
        }, ct);
        var messages = received.Messages ?? [];
        if (messages.Count == 0) return new SqsEventSourceBatch(0, 0, 0, null, null);

        // From here on the batch is finished even if we are asked to stop: a half-handled batch would
        // only be redelivered later, but finishing it is cheaper and keeps the logs tidy.
        var sqsEvent = new SqsEvent(messages.Select(ToRecord).ToList());
        HashSet<string> failed;
        int? status = null;
        string? error = null;
        try
        {
            using var content = new StringContent(JsonSerializer.Serialize(sqsEvent, SqsEventJsonContext.Default.SqsEvent), Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(options.Target, content, CancellationToken.None);
            status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                failed = messages.Select(m => m.MessageId).ToHashSet();
                error = $"target answered {status}";
            }
            else
            {
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                var answer = body.Length == 0 ? null : JsonSerializer.Deserialize(body, SqsEventJsonContext.Default.SqsBatchResponse);
                var identifiers = (answer?.BatchItemFailures ?? []).Select(f => f.ItemIdentifier).ToList();
                var inBatch = messages.Select(m => m.MessageId).ToHashSet();
                var invalid = identifiers.Where(id => string.IsNullOrEmpty(id) || !inBatch.Contains(id)).ToList();
                if (invalid.Count > 0)
                {
                    var bad = invalid[0] ?? "";
                    // Lambda treats a batchItemFailures entry that is empty or names no message of the batch
                    // as a failure of the whole batch: nothing is deleted, everything comes back.
                    failed = inBatch;
                    error = $"invalid batchItemFailures itemIdentifier {JsonString(bad)}: the whole batch failed";
                    WriteLine($"{{\"event\":\"invalid-batch-response\",\"itemIdentifier\":{JsonString(bad)},\"received\":{messages.Count}}}");
                }
                else
                {
                    failed = identifiers.ToHashSet();
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            failed = messages.Select(m => m.MessageId).ToHashSet();
            error = $"{e.GetType().Name}: {e.Message}";
        }

        var succeeded = messages.Where(m => !failed.Contains(m.MessageId)).ToList();
        var deleted = 0;
        if (succeeded.Count > 0)
        {
            var result = await sqs.DeleteMessageBatchAsync(new DeleteMessageBatchRequest
            {
                QueueUrl = options.QueueUrl,
                Entries = succeeded.Select((m, i) => new DeleteMessageBatchRequestEntry(i.ToString(System.Globalization.CultureInfo.InvariantCulture), m.ReceiptHandle)).ToList(),
            }, CancellationToken.None);
            deleted = result.Successful?.Count ?? 0;
            foreach (var f in result.Failed ?? [])
            {
                // Not deleted: the message comes back after the visibility timeout and is delivered again
                // (settlement is idempotent), but say so.
                var messageId = int.TryParse(f.Id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) && i < succeeded.Count ? succeeded[i].MessageId : "";
                WriteLine($"{{\"event\":\"delete-failed\",\"messageId\":{JsonString(messageId)},\"code\":{JsonString(f.Code ?? "")},\"senderFault\":{(f.SenderFault == true ? "true" : "false")},\"message\":{JsonString(f.Message ?? "")}}}");
            }
        }

        var batch = new SqsEventSourceBatch(messages.Count, messages.Count - succeeded.Count, deleted, status, error);
        WriteLine($"{{\"event\":\"batch\",\"received\":{batch.Received},\"failed\":{batch.Failed},\"deleted\":{batch.Deleted},\"status\":{(status?.ToString() ?? "null")},\"error\":{(error is null ? "null" : JsonString(error))},\"messageIds\":[{string.Join(',', messages.Select(m => JsonString(m.MessageId)))}]}}");
        return batch;
    }

    private SqsMessage ToRecord(Message m)
    {
        var attributes = new Dictionary<string, string>(m.Attributes ?? new Dictionary<string, string>());
        var messageAttributes = (m.MessageAttributes ?? new Dictionary<string, MessageAttributeValue>()).ToDictionary(
            a => a.Key,
            a => new SqsMessageAttribute(a.Value.StringValue, a.Value.BinaryValue is { } b ? Convert.ToBase64String(b.ToArray()) : null, a.Value.DataType));
        return new SqsMessage(m.MessageId, m.ReceiptHandle, m.Body, attributes, messageAttributes, m.MD5OfBody, "aws:sqs", queueArn, options.Region);
    }

    private async Task<string> ResolveQueueArnAsync(CancellationToken ct)
    {
        try
        {
            var attributes = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = options.QueueUrl, AttributeNames = ["QueueArn"] }, ct);
            if (attributes.Attributes?.GetValueOrDefault("QueueArn") is { Length: > 0 } arn) return arn;
        }
        catch (AmazonSQSException)
        {
        }
        return $"arn:aws:sqs:{options.Region}:000000000000:{options.QueueUrl.TrimEnd('/').Split('/')[^1]}";
    }

    private void WriteLine(string line)
    {
        lock (log) log.WriteLine(line);
    }

    private static string JsonString(string s) => JsonSerializer.Serialize(s, SqsEventSourceJsonContext.Default.String);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class SqsEventSourceJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
