using EcpayEvents.Messaging;

namespace EcpayEvents.Settlement.Tests;

public sealed class SqsBatchHandlerTests
{
    private sealed class FailsOn(params string[] ids) : ISqsMessageHandler
    {
        public List<string> Handled { get; } = [];

        public Task HandleAsync(SqsMessage message, CancellationToken ct)
        {
            lock (Handled) Handled.Add(message.MessageId);
            return ids.Contains(message.MessageId) ? throw new InvalidOperationException("boom") : Task.CompletedTask;
        }
    }

    private static SqsEvent Batch(params string[] ids) => new(ids.Select(id => new SqsMessage(id, "rh", "{}", null, null, null, "aws:sqs", null, null)).ToList());

    [Fact]
    public async Task ReportsOnlyTheMessagesWhoseHandlerThrew()
    {
        var handler = new FailsOn("b", "d");
        var response = await new SqsBatchHandler(handler).HandleAsync(Batch("a", "b", "c", "d", "e"));
        Assert.Equal(["b", "d"], response.BatchItemFailures.Select(f => f.ItemIdentifier).Order());
        Assert.Equal(5, handler.Handled.Count);
    }

    [Fact]
    public async Task AnEmptyBatchHasNoFailures() =>
        Assert.Empty((await new SqsBatchHandler(new FailsOn()).HandleAsync(new SqsEvent([]))).BatchItemFailures);
}
