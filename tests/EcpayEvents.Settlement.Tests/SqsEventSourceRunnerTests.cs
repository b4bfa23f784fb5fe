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
}
