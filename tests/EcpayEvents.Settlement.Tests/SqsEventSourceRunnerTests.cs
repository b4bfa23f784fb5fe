using System.Net;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using EcpayEvents.Cli.EventSource;
using EcpayEvents.Messaging;
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

    [Fact]
    public async Task ARunnerRefusesAnSqsClientThatWouldGiveUpBeforeItsLongPoll()
    {
        await using var sqs = await LocalSqsServer.StartAsync();
        var options = new SqsEventSourceOptions(sqs.QueueUrl, new Uri("http://127.0.0.1:1/events"), WaitSeconds: 5);
        using var http = new HttpClient();
        using var tooShort = new SqsOptions { QueueUrl = sqs.QueueUrl, ServiceUrl = sqs.Endpoint }.CreateClient(TimeSpan.FromSeconds(3));
        Assert.Throws<ArgumentException>(() => new SqsEventSourceRunner(tooShort, http, options, TextWriter.Null));

        using var made = SqsEventSourceRunner.CreateSqsClient(new SqsOptions { QueueUrl = sqs.QueueUrl, ServiceUrl = sqs.Endpoint }, options);
        Assert.True(made.Config.Timeout > TimeSpan.FromSeconds(options.WaitSeconds));
        _ = new SqsEventSourceRunner(made, http, options, TextWriter.Null);
    }

    /// <summary>Tells when a receive has been asked for.</summary>
    private sealed class ReceiveSignal(AWSCredentials credentials, AmazonSQSConfig config) : AmazonSQSClient(credentials, config)
    {
        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override Task<ReceiveMessageResponse> ReceiveMessageAsync(ReceiveMessageRequest request, CancellationToken cancellationToken = default)
        {
            Asked.TrySetResult();
            return base.ReceiveMessageAsync(request, cancellationToken);
        }
    }

    /// <summary>
    /// Stopped in the middle of a long poll, the runner does not abandon the receive (the server would still
    /// hand out a message arriving meanwhile and hide it for the visibility timeout): what it brings is made
    /// visible again at once, ready for the next consumer.
    /// </summary>
    [Fact]
    public async Task AMessageThatArrivesWhileTheRunnerStopsIsNotHidden()
    {
        await using var sqs = await LocalSqsServer.StartAsync(maxReceiveCount: 5, visibilityTimeoutSeconds: 30);
        using var client = sqs.CreateClient();
        using var receiving = new ReceiveSignal(new BasicAWSCredentials("local", "local"), new AmazonSQSConfig { ServiceURL = sqs.Endpoint, AuthenticationRegion = "us-east-1" });
        using var http = new HttpClient();
        var log = new StringWriter();
        var runner = new SqsEventSourceRunner(receiving, http, new SqsEventSourceOptions(sqs.QueueUrl, new Uri("http://127.0.0.1:1/events"), WaitSeconds: 5, Pollers: 1), log);
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(stop.Token);
        await receiving.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The receive request is on its way to the server (loopback); nothing to wait for that is observable from here.
        await Task.Delay(300);

        await stop.CancelAsync();
        await client.SendMessageAsync(sqs.QueueUrl, "arrived while stopping");
        await running.WaitAsync(TimeSpan.FromSeconds(15));

        var got = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = sqs.QueueUrl, WaitTimeSeconds = 2, MessageSystemAttributeNames = ["All"] });
        var m = Assert.Single(got.Messages ?? []);
        Assert.Equal("arrived while stopping", m.Body);
        Assert.Contains("\"event\":\"released\"", log.ToString());
    }

    [Fact]
    public async Task SeveralPollersShareTheQueueAndEveryLineIsTimestamped()
    {
        var (sqs, client) = await QueueWithAsync(30);
        await using var _ = sqs;
        using var __ = client;
        using var http = new HttpClient(new FixedAnswer("""{"batchItemFailures":[]}"""));
        var log = new StringWriter();
        var runner = new SqsEventSourceRunner(client, http, new SqsEventSourceOptions(sqs.QueueUrl, new Uri("http://127.0.0.1:1/events"), BatchSize: 1, WaitSeconds: 1, Pollers: 3), log);
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(stop.Token);
        await Poll.UntilAsync(async () => await MessagesInQueueAsync(sqs, client) == 0, "the runner to delete all 30 messages", TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(15));

        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var batches = lines.Where(l => l.Contains("\"event\":\"batch\"")).ToList();
        Assert.Equal(30, batches.Count);
        Assert.Equal([1, 2, 3], batches.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("poller").GetInt32()).Distinct().Order());
        Assert.All(lines, l => Assert.Matches("""^\{"Timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","event":""", l));
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
        Assert.Contains($"\"event\":\"invalid-batch-response\",\"poller\":1,\"itemIdentifier\":\"{identifier}\"", log.ToString());
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
