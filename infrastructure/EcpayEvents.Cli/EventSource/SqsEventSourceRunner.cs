using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using EcpayEvents.Messaging;

namespace EcpayEvents.Cli.EventSource;

/// <param name="QueueUrl">The queue to poll.</param>
/// <param name="Target">Where to POST each batch (a service's /events).</param>
/// <param name="BatchSize">1–10 messages per batch.</param>
/// <param name="WaitSeconds">Long-poll wait, 0–20.</param>
/// <param name="VisibilityTimeout">Per-receive visibility timeout in seconds; null: the queue's own.</param>
/// <param name="Pollers">Receive → POST → delete loops running side by side (Lambda's ScalingConfig.MaximumConcurrency).</param>
public sealed record SqsEventSourceOptions(string QueueUrl, Uri Target, int BatchSize = 10, int WaitSeconds = 20, int? VisibilityTimeout = null,
    string Region = "us-east-1", int Pollers = SqsEventSourceOptions.DefaultPollers)
{
    public const int DefaultPollers = 3;
    public const int MaxPollers = 100;

    /// <summary>
    /// How long the SQS client waits for one receive: the long poll plus a margin for a slow or briefly paused
    /// server. A receive the client gives up on is still answered by the server, which hides the messages it
    /// took for the visibility timeout and counts the receive towards the dead-letter queue, so the client
    /// must always outwait the server.
    /// </summary>
    public TimeSpan ReceiveTimeout => TimeSpan.FromSeconds(Math.Clamp(WaitSeconds, 0, 20) + 20);
}

/// <summary>What one poll did.</summary>
public sealed record SqsEventSourceBatch(int Received, int Failed, int Deleted, int? HttpStatus, string? Error);

/// <summary>
/// What Lambda's SQS event source mapping does, for the local stack and the tests: several pollers, each
/// long-polling the queue, POSTing each batch as the Lambda SQS event JSON to the target and deleting what
/// succeeded (all on a 2xx with no batchItemFailures, none when the POST fails or is not 2xx, none when an
/// itemIdentifier is empty or not in the batch — Lambda then fails the whole batch) and leaving failures to
/// reappear after the visibility timeout (and reach the DLQ after maxReceiveCount).
/// </summary>
public sealed class SqsEventSourceRunner
{
    private readonly IAmazonSQS sqs;
    private readonly HttpClient http;
    private readonly SqsEventSourceOptions options;
    private readonly TextWriter log;
    private string? queueArn; // resolved by the first poll that can (pollers may race: same answer)

    public SqsEventSourceRunner(IAmazonSQS sqs, HttpClient http, SqsEventSourceOptions options, TextWriter log)
    {
        // A client that gives up before the long poll ends loses what the server hands out meanwhile.
        if (sqs.Config.Timeout is { } timeout && timeout <= TimeSpan.FromSeconds(Math.Clamp(options.WaitSeconds, 0, 20) + 1))
            throw new ArgumentException($"the SQS client's timeout ({timeout.TotalSeconds:0.#} s) must exceed the long poll ({options.WaitSeconds} s); use SqsEventSourceRunner.CreateSqsClient", nameof(sqs));
        this.sqs = sqs;
        this.http = http;
        this.options = options;
        this.log = log;
    }

    /// <summary>An SQS client for <paramref name="options"/>: its timeout is <see cref="SqsEventSourceOptions.ReceiveTimeout"/>.</summary>
    public static IAmazonSQS CreateSqsClient(SqsOptions sqs, SqsEventSourceOptions options) => sqs.CreateClient(options.ReceiveTimeout);

    /// <summary>Runs <see cref="SqsEventSourceOptions.Pollers"/> pollers until <paramref name="ct"/> is cancelled; see <see cref="PollOnceAsync"/> for what stopping does.</summary>
    public Task RunAsync(CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(1, Math.Clamp(options.Pollers, 1, SqsEventSourceOptions.MaxPollers)).Select(p => Task.Run(() => PollLoopAsync(p, ct), CancellationToken.None)));

    private async Task PollLoopAsync(int poller, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var batch = await PollOnceAsync(ct, poller);
                // The target did not answer at all (stopped, restarting): wait for it before taking more messages,
                // each of which a receive would count towards the dead-letter queue.
                if (batch.HttpStatus is null && batch.Error is not null) await WaitForTargetAsync(poller, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // SQS unreachable and the like: keep going, as the event source mapping does.
                WriteLine(poller, "poll-error", $"\"error\":{JsonString(e.GetType().Name + ": " + e.Message)}");
                try { await Task.Delay(TimeSpan.FromSeconds(1), ct); } catch (OperationCanceledException) { break; }
            }
        }
    }

    /// <summary>
    /// One receive → POST → delete round; returns without posting when the queue was empty. The receive itself
    /// is never abandoned (cancelling it would not stop the server from handing messages out): when
    /// <paramref name="ct"/> is cancelled during it, what it brings is made visible again at once instead of
    /// posted. A batch received before that is finished.
    /// </summary>
    public async Task<SqsEventSourceBatch> PollOnceAsync(CancellationToken ct, int poller = 1)
    {
        var arn = queueArn ??= await ResolveQueueArnAsync(ct);
        var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = options.QueueUrl,
            MaxNumberOfMessages = Math.Clamp(options.BatchSize, 1, 10),
            WaitTimeSeconds = Math.Clamp(options.WaitSeconds, 0, 20),
            VisibilityTimeout = options.VisibilityTimeout,
            MessageSystemAttributeNames = ["All"],
            MessageAttributeNames = ["All"],
        }, CancellationToken.None);
        var messages = received.Messages ?? [];
        if (messages.Count == 0) return new SqsEventSourceBatch(0, 0, 0, null, null);
        if (ct.IsCancellationRequested)
        {
            await ReleaseAsync(poller, messages);
            return new SqsEventSourceBatch(messages.Count, messages.Count, 0, null, "stopping: released");
        }

        // From here on the batch is finished even if we are asked to stop: a half-handled batch would
        // only be redelivered later, but finishing it is cheaper and keeps the logs tidy.
        var sqsEvent = new SqsEvent(messages.Select(m => ToRecord(m, arn)).ToList());
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
                    WriteLine(poller, "invalid-batch-response", $"\"itemIdentifier\":{JsonString(bad)},\"received\":{messages.Count}");
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
                WriteLine(poller, "delete-failed", $"\"messageId\":{JsonString(messageId)},\"code\":{JsonString(f.Code ?? "")},\"senderFault\":{(f.SenderFault == true ? "true" : "false")},\"message\":{JsonString(f.Message ?? "")}");
            }
        }

        var batch = new SqsEventSourceBatch(messages.Count, messages.Count - succeeded.Count, deleted, status, error);
        WriteLine(poller, "batch", $"\"received\":{batch.Received},\"failed\":{batch.Failed},\"deleted\":{batch.Deleted},\"status\":{(status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null")},\"error\":{(error is null ? "null" : JsonString(error))},\"messageIds\":[{string.Join(',', messages.Select(m => JsonString(m.MessageId)))}],\"merchantTradeNos\":[{string.Join(',', messages.Select(m => JsonString(m.MessageAttributes?.GetValueOrDefault(PaymentResultPublisher.MerchantTradeNoAttribute)?.StringValue ?? "")))}]");
        return batch;
    }

    /// <summary>Makes messages received while stopping visible again at once (their receive still counts).</summary>
    private async Task ReleaseAsync(int poller, List<Message> messages)
    {
        try
        {
            await sqs.ChangeMessageVisibilityBatchAsync(new ChangeMessageVisibilityBatchRequest
            {
                QueueUrl = options.QueueUrl,
                Entries = messages.Select((m, i) => new ChangeMessageVisibilityBatchRequestEntry(i.ToString(System.Globalization.CultureInfo.InvariantCulture), m.ReceiptHandle) { VisibilityTimeout = 0 }).ToList(),
            }, CancellationToken.None);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or TimeoutException or TaskCanceledException)
        {
            // They come back after their visibility timeout instead.
            WriteLine(poller, "release-failed", $"\"error\":{JsonString(e.GetType().Name + ": " + e.Message)}");
        }
        WriteLine(poller, "released", $"\"received\":{messages.Count},\"messageIds\":[{string.Join(',', messages.Select(m => JsonString(m.MessageId)))}]");
    }

    /// <summary>Until the target accepts TCP connections again (or we are stopped), checking every second.</summary>
    private async Task WaitForTargetAsync(int poller, CancellationToken ct)
    {
        var logged = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                await client.ConnectAsync(options.Target.Host, options.Target.Port, attempt.Token);
                if (logged) WriteLine(poller, "target-back", $"\"target\":{JsonString(options.Target.ToString())}");
                return;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
            {
                if (!logged) WriteLine(poller, "target-down", $"\"target\":{JsonString(options.Target.ToString())}");
                logged = true;
            }
            try { await Task.Delay(TimeSpan.FromSeconds(1), ct); } catch (OperationCanceledException) { return; }
        }
    }

    private SqsMessage ToRecord(Message m, string arn)
    {
        var attributes = new Dictionary<string, string>(m.Attributes ?? new Dictionary<string, string>());
        var messageAttributes = (m.MessageAttributes ?? new Dictionary<string, MessageAttributeValue>()).ToDictionary(
            a => a.Key,
            a => new SqsMessageAttribute(a.Value.StringValue, a.Value.BinaryValue is { } b ? Convert.ToBase64String(b.ToArray()) : null, a.Value.DataType));
        return new SqsMessage(m.MessageId, m.ReceiptHandle, m.Body, attributes, messageAttributes, m.MD5OfBody, "aws:sqs", arn, options.Region);
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

    /// <summary>One JSON line, like the services' logs: UTC timestamp, event, poller, then <paramref name="fields"/>.</summary>
    private void WriteLine(int poller, string @event, string fields) => EventSourceLog.Write(log, @event, $"\"poller\":{poller},{fields}");

    private static string JsonString(string s) => EventSourceLog.JsonString(s);
}

/// <summary>The runner's log: one JSON object per line, starting with a UTC ISO 8601 timestamp as the services' logs do.</summary>
public static class EventSourceLog
{
    public static void Write(TextWriter log, string @event, string? fields = null)
    {
        var line = $"{{\"Timestamp\":\"{DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture)}\",\"event\":{JsonString(@event)}{(string.IsNullOrEmpty(fields) ? "" : "," + fields)}}}";
        lock (log) log.WriteLine(line);
    }

    public static string JsonString(string s) => JsonSerializer.Serialize(s, SqsEventSourceJsonContext.Default.String);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class SqsEventSourceJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
