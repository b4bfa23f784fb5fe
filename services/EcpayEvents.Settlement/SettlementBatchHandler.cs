using System.Diagnostics;
using System.Text.Json;
using EcpayEvents.Hosting;
using EcpayEvents.Messaging;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Settlement;

/// <summary>
/// Settles an SQS batch of the payment-results queue (Lambda's partial batch response): the messages that are
/// payment results go to <see cref="PaymentResultSettlement.SettleBatchAsync"/> together (one transaction, a
/// savepoint each); a message that is not one (poison), or whose own writes failed, is reported in
/// batchItemFailures, so that only it is delivered again (and reaches the dead-letter queue after maxReceiveCount).
/// Each message gets its log scope, its metrics and a consumer span (continuing the trace it was published in)
/// covering the batch's work.
/// </summary>
public sealed partial class SettlementBatchHandler(PaymentResultSettlement settlement, EmfMetrics metrics, ILogger<SettlementBatchHandler> logger)
{
    public async Task<SqsBatchResponse> HandleAsync(SqsEvent batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var failures = new List<SqsBatchItemFailure>();
        var messages = new List<SqsMessage>();
        var payments = new List<PaymentResultMessage>();
        var started = DateTime.UtcNow;
        foreach (var message in batch.Records ?? [])
        {
            if (Deserialize(message) is { } payment) { messages.Add(message); payments.Add(payment); continue; }
            // Poison: fails every time, so after maxReceiveCount SQS moves it to the dead-letter queue.
            using var scope = logger.BeginScope(new MessageLogScope(message.MessageId, MessageTracing.MerchantTradeNo(message)));
            using var span = MessageTracing.StartProcess(message);
            span?.SetStatus(ActivityStatusCode.Error, "poison");
            LogPoison(logger, message.MessageId, ReceiveCount(message));
            metrics.Count(MetricNames.SettlementOutcome, MetricNames.OutcomeDimension, PoisonOutcome);
            failures.Add(new SqsBatchItemFailure(message.MessageId));
        }
        if (payments.Count == 0) return new SqsBatchResponse(failures);

        IReadOnlyList<SettlementBatchItem> items;
        try
        {
            items = await settlement.SettleBatchAsync(payments, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Database down, commit failed…: nothing of the batch was written; every message is delivered again.
            items = [.. payments.Select(_ => new SettlementBatchItem(null, e))];
        }

        var measures = new BatchMeasures();
        for (var i = 0; i < items.Count; i++)
        {
            var (message, payment) = (messages[i], payments[i]);
            using var scope = logger.BeginScope(new MessageLogScope(message.MessageId, MessageTracing.MerchantTradeNo(message)));
            using var span = MessageTracing.StartProcess(message);
            span?.SetStartTime(started);
            if (items[i] is { Error: { } e })
            {
                span?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                // Deadlock, lock wait timeout, a database error…: SQS redelivers after the visibility timeout.
                LogTransient(logger, message.MessageId, payment.Fields.GetValueOrDefault("MerchantTradeNo") ?? "", ReceiveCount(message), e.GetType().Name, e.Message);
                failures.Add(new SqsBatchItemFailure(message.MessageId));
            }
            else if (items[i].Result is { } result)
            {
                measures.Add(payment, result);
                Log(message, payment, result);
            }
        }
        measures.Write(metrics);
        if (failures.Count > 0) metrics.Count(MetricNames.BatchItemFailures, count: failures.Count);
        return new SqsBatchResponse(failures);
    }

    /// <summary>The metric outcome of a message that is not a payment result (it goes to the DLQ).</summary>
    public const string PoisonOutcome = "poison";

    /// <summary>The metric outcome of a message already recorded.</summary>
    public const string DuplicateOutcome = "duplicate";

    // A batch's metrics add up to a few EMF lines (a count per outcome, the settle lags as one array), not a few per message.
    private sealed class BatchMeasures
    {
        private readonly Dictionary<string, long> outcomes = new(StringComparer.Ordinal);
        private readonly List<double> settleLags = [];
        private long needsAttention;

        public void Add(PaymentResultMessage payment, SettlementResult result)
        {
            var outcome = result.Duplicate ? DuplicateOutcome : result.Outcome;
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (result.NeedsAttention && !result.Duplicate) needsAttention++;
            if (!result.Duplicate && result.Outcome is SettlementOutcome.Credited or SettlementOutcome.CreditedLate)
                settleLags.Add(Math.Max(0, (DateTimeOffset.UtcNow - payment.ReceivedAt).TotalMilliseconds));
        }

        public void Write(EmfMetrics metrics)
        {
            foreach (var (outcome, count) in outcomes) metrics.Count(MetricNames.SettlementOutcome, MetricNames.OutcomeDimension, outcome, count);
            if (needsAttention > 0) metrics.Count(MetricNames.NeedsAttention, count: needsAttention);
            if (settleLags.Count > 0) metrics.Milliseconds(MetricNames.SettleLag, settleLags);
        }
    }

    private void Log(SqsMessage message, PaymentResultMessage payment, SettlementResult result)
    {
        if (result.Duplicate)
            LogDuplicate(logger, message.MessageId, result.MerchantTradeNo ?? "", payment.Source, result.DedupKey);
        else if (result.NeedsAttention)
            LogAttention(logger, message.MessageId, result.MerchantTradeNo ?? "", payment.Source, result.Outcome, result.Reason ?? "", result.TransactionId);
        else
            LogSettled(logger, message.MessageId, result.MerchantTradeNo ?? "", payment.Source, result.Outcome, result.Reason ?? "", result.TransactionId);
    }

    private static PaymentResultMessage? Deserialize(SqsMessage message)
    {
        try
        {
            var payment = JsonSerializer.Deserialize(message.Body ?? "", PaymentResultJsonContext.Default.PaymentResultMessage);
            return payment is { Source: not null, Fields: not null } ? payment : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string ReceiveCount(SqsMessage message) =>
        message.Attributes?.GetValueOrDefault("ApproximateReceiveCount") ?? "";

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Settled message {MessageId} MerchantTradeNo={MerchantTradeNo} Source={Source}: {Outcome} {Reason} (TransactionId={TransactionId})")]
    private static partial void LogSettled(ILogger logger, string messageId, string merchantTradeNo, string source, string outcome, string reason, long? transactionId);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Operator attention: message {MessageId} MerchantTradeNo={MerchantTradeNo} Source={Source}: {Outcome} {Reason} (TransactionId={TransactionId})")]
    private static partial void LogAttention(ILogger logger, string messageId, string merchantTradeNo, string source, string outcome, string reason, long? transactionId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Duplicate message {MessageId} MerchantTradeNo={MerchantTradeNo} Source={Source}: already recorded (DedupKey={DedupKey}); nothing changed")]
    private static partial void LogDuplicate(ILogger logger, string messageId, string merchantTradeNo, string source, string dedupKey);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Error, Message = "Poison message {MessageId} (receive count {ReceiveCount}): not a payment result; left for the dead-letter queue")]
    private static partial void LogPoison(ILogger logger, string messageId, string receiveCount);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Could not settle message {MessageId} MerchantTradeNo={MerchantTradeNo} (receive count {ReceiveCount}): {ErrorType} {Error}; it will be redelivered")]
    private static partial void LogTransient(ILogger logger, string messageId, string merchantTradeNo, string receiveCount, string errorType, string error);
}
