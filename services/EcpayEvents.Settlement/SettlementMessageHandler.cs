using System.Text.Json;
using EcpayEvents.Messaging;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Settlement;

/// <summary>Settles ONE message of the payment-results queue; the batch bookkeeping is <see cref="SqsBatchHandler"/>'s.</summary>
public sealed partial class SettlementMessageHandler(PaymentResultSettlement settlement, ILogger<SettlementMessageHandler> logger) : ISqsMessageHandler
{
    public async Task HandleAsync(SqsMessage message, CancellationToken ct)
    {
        var payment = Deserialize(message);
        if (payment is null)
        {
            // Poison: fails every time, so after maxReceiveCount SQS moves it to the dead-letter queue.
            LogPoison(logger, message.MessageId, ReceiveCount(message));
            throw new InvalidDataException($"message {message.MessageId} is not a payment result");
        }

        SettlementResult result;
        try
        {
            result = await settlement.SettleAsync(payment, ct);
        }
        catch (Exception e)
        {
            // Database down, deadlock, lock wait timeout…: SQS redelivers after the visibility timeout.
            LogTransient(logger, message.MessageId, payment.Fields.GetValueOrDefault("MerchantTradeNo") ?? "", ReceiveCount(message), e.GetType().Name, e.Message);
            throw;
        }

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
