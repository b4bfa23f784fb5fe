using System.Net;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using EcpayEvents.Cli.EventSource;
using EcpayEvents.Testing;

namespace EcpayEvents.Settlement.Tests;

public sealed class SqsEventSourceRunnerTests
{
    [Fact]
    public async Task WhenTheTargetIsDownNothingIsDeletedAndTheMessageComesBack()
    {
        await using var sqs = await LocalSqsServer.StartAsync(maxReceiveCount: 5, visibilityTimeoutSeconds: 1);
        using var client = sqs.CreateClient();
        using var http = new HttpClient();
        await client.SendMessageAsync(sqs.QueueUrl, "hello");
        var log = new StringWriter();
        var runner = new SqsEventSourceRunner(client, http, new SqsEventSourceOptions(sqs.QueueUrl, new Uri($"http://127.0.0.1:{FreePort.Next()}/events"), WaitSeconds: 1), log);

        var batch = await runner.PollOnceAsync(CancellationToken.None);
        Assert.Equal((1, 1, 0), (batch.Received, batch.Failed, batch.Deleted));
        Assert.NotNull(batch.Error);
        Assert.Contains("\"event\":\"batch\"", log.ToString());

        await Task.Delay(1200);
        var again = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 2, MessageSystemAttributeNames = ["All"] });
        var m = Assert.Single(again.Messages);
        Assert.Equal("2", m.Attributes["ApproximateReceiveCount"]);
    }

    [Fact]
    public async Task StopsWhenCancelled()
    {
        await using var sqs = await LocalSqsServer.StartAsync();
        using var client = sqs.CreateClient();
        using var http = new HttpClient();
        var runner = new SqsEventSourceRunner(client, http, new SqsEventSourceOptions(sqs.QueueUrl, new Uri("http://127.0.0.1:1/events"), WaitSeconds: 1), TextWriter.Null);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await runner.RunAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>A target that answers every batch with a fixed body.</summary>
    private sealed class FixedAnswer(string json) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") });
    }

    private static async Task<(LocalSqsServer Sqs, AmazonSQSClient Client)> QueueWithAsync(int messages)
    {
        var sqs = await LocalSqsServer.StartAsync(maxReceiveCount: 5, visibilityTimeoutSeconds: 1);
        var client = sqs.CreateClient();
        for (var i = 0; i < messages; i++) await client.SendMessageAsync(sqs.QueueUrl, $"m{i}");
        return (sqs, client);
    }

    /// <summary>
    /// How many different messages come back once their visibility timeout is over: received (and kept in flight)
    /// until <paramref name="expected"/> were seen, or for at most 20 s.
    /// </summary>
    private static async Task<int> VisibleAfterTimeoutAsync(LocalSqsServer sqs, AmazonSQSClient client, int expected)
    {
        var seen = new HashSet<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (seen.Count < expected && DateTime.UtcNow < deadline)
        {
            var got = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 1, MaxNumberOfMessages = 10, VisibilityTimeout = 30 });
            foreach (var m in got.Messages ?? []) seen.Add(m.Body);
        }
        return seen.Count;
    }

    [Theory]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":""}]}""", "")]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":"not-a-message-of-this-batch"}]}""", "not-a-message-of-this-batch")]
    public async Task AnEmptyOrUnknownItemIdentifierFailsTheWholeBatchAsLambdaDoes(string answer, string identifier)
    {
        var (sqs, client) = await QueueWithAsync(3);
        await using var _ = sqs;
        using var __ = client;
        using var http = new HttpClient(new FixedAnswer(answer));
        var log = new StringWriter();
        var runner = new SqsEventSourceRunner(client, http, new SqsEventSourceOptions(sqs.QueueUrl, new Uri("http://127.0.0.1:1/events"), WaitSeconds: 1), log);

        var batch = await runner.PollOnceAsync(CancellationToken.None);
        Assert.Equal(0, batch.Deleted);
        Assert.Equal(batch.Received, batch.Failed);
        Assert.Contains("invalid batchItemFailures itemIdentifier", batch.Error);
        Assert.Contains($"\"event\":\"invalid-batch-response\",\"itemIdentifier\":\"{identifier}\"", log.ToString());
        Assert.Equal(3, await VisibleAfterTimeoutAsync(sqs, client, 3)); // every message comes back
    }

    [Fact]
    public async Task ValidBatchItemFailuresDeleteTheRest()
    {
        await using var sqs = await LocalSqsServer.StartAsync(maxReceiveCount: 5, visibilityTimeoutSeconds: 1);
        using var client = sqs.CreateClient();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++) ids.Add((await client.SendMessageAsync(sqs.QueueUrl, $"m{i}")).MessageId);
        var failedId = ids[1];
        using var http = new HttpClient(new FixedAnswer($$"""{"batchItemFailures":[{"itemIdentifier":"{{failedId}}"}]}"""));
        var runner = new SqsEventSourceRunner(client, http, new SqsEventSourceOptions(sqs.QueueUrl, new Uri("http://127.0.0.1:1/events"), WaitSeconds: 2), TextWriter.Null);

        var batch = await runner.PollOnceAsync(CancellationToken.None);
        Assert.Equal((4, 1, 3, null), (batch.Received, batch.Failed, batch.Deleted, batch.Error));

        // The three others are gone from the queue: only the failed one is left (in flight until its visibility timeout).
        Assert.Equal(1, await MessagesInQueueAsync(sqs, client));
        // …and it comes back, as a second receive.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        Message? back = null;
        while (back is null && DateTime.UtcNow < deadline)
        {
            var got = await client.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 1, MaxNumberOfMessages = 10, VisibilityTimeout = 30, MessageSystemAttributeNames = ["All"],
            });
            if (got.Messages is { Count: > 0 }) back = Assert.Single(got.Messages);
        }
        Assert.NotNull(back);
        Assert.Equal((failedId, "m1", "2"), (back.MessageId, back.Body, back.Attributes["ApproximateReceiveCount"]));
        Assert.Equal(1, await MessagesInQueueAsync(sqs, client));
    }

    /// <summary>Every message the queue still holds: visible, in flight or delayed.</summary>
    private static async Task<int> MessagesInQueueAsync(LocalSqsServer sqs, AmazonSQSClient client)
    {
        var attributes = await client.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = sqs.QueueUrl,
            AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
        });
        return attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible + attributes.ApproximateNumberOfMessagesDelayed;
    }

    /// <summary>
    /// An SQS client whose DeleteMessageBatch reports every entry as failed, as SQS does for a receipt
    /// handle that is no longer valid. (fauxqs itself never reports a failed entry, so this one call is
    /// answered here; receiving is the real server's.)
    /// </summary>
    private sealed class FailingDeletes(AWSCredentials credentials, AmazonSQSConfig config) : AmazonSQSClient(credentials, config)
    {
        public override Task<DeleteMessageBatchResponse> DeleteMessageBatchAsync(DeleteMessageBatchRequest request, CancellationToken cancellationToken = default) =>
            Task.FromResult(new DeleteMessageBatchResponse
            {
                Successful = [],
                Failed = request.Entries.Select(e => new BatchResultErrorEntry { Id = e.Id, Code = "ReceiptHandleIsInvalid", SenderFault = true, Message = "The receipt handle has expired." }).ToList(),
            });
    }

    [Fact]
    public async Task AFailedDeleteIsLogged()
    {
        var (sqs, client) = await QueueWithAsync(1);
        await using var _ = sqs;
        using var __ = client;
        using var stale = new FailingDeletes(new BasicAWSCredentials("local", "local"), new AmazonSQSConfig { ServiceURL = sqs.Endpoint, AuthenticationRegion = "us-east-1" });
        using var http = new HttpClient(new FixedAnswer("""{"batchItemFailures":[]}"""));
        var log = new StringWriter();
        var runner = new SqsEventSourceRunner(stale, http, new SqsEventSourceOptions(sqs.QueueUrl, new Uri("http://127.0.0.1:1/events"), WaitSeconds: 1), log);

        var batch = await runner.PollOnceAsync(CancellationToken.None);
        Assert.Equal((1, 0, 0), (batch.Received, batch.Failed, batch.Deleted));
        Assert.Contains("\"event\":\"delete-failed\"", log.ToString());
        Assert.Contains("\"code\":\"ReceiptHandleIsInvalid\"", log.ToString());
        Assert.Equal(1, await VisibleAfterTimeoutAsync(sqs, client, 1));
    }
}
