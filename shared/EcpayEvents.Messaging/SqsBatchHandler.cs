using Microsoft.Extensions.Logging;

namespace EcpayEvents.Messaging;

/// <summary>Processes ONE message of an SQS batch. Return normally when it is done with (settled,
/// recorded, or deliberately dropped); throw to have SQS deliver it again (and, after the queue's
/// maxReceiveCount, move it to the dead-letter queue).</summary>
public interface ISqsMessageHandler
{
    Task HandleAsync(SqsMessage message, CancellationToken ct);
}

/// <summary>
/// The one place that owns "SQS batch in, batchItemFailures out" (Lambda's partial batch response):
/// every message is handed to the <see cref="ISqsMessageHandler"/>, a few at a time, and a message
/// whose handler throws is reported by its messageId so that only it is redelivered.
/// Each message is handled in a log scope with its SQS MessageId and MerchantTradeNo (from its attribute), and in a
/// consumer span that continues the trace it was published in (<see cref="MessageTracing"/>).
/// </summary>
public sealed class SqsBatchHandler(ISqsMessageHandler handler, int maxConcurrency = 4, ILogger? logger = null)
{
    public async Task<SqsBatchResponse> HandleAsync(SqsEvent batch, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var records = batch.Records ?? [];
        var failures = new List<SqsBatchItemFailure>();
        await Parallel.ForEachAsync(records, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxConcurrency), CancellationToken = ct }, async (message, token) =>
        {
            using var scope = logger?.BeginScope(new MessageLogScope(message.MessageId, MessageTracing.MerchantTradeNo(message)));
            using var span = MessageTracing.StartProcess(message);
            try
            {
                await handler.HandleAsync(message, token);
            }
            catch (Exception e)
            {
                span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.GetType().Name);
                // The handler logs with the context it has; here only the bookkeeping.
                lock (failures) failures.Add(new SqsBatchItemFailure(message.MessageId));
            }
        });
        return new SqsBatchResponse(failures);
    }
}
