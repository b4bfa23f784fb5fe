using EcpayEvents.Messaging.StepFunctions;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Payments.Deposits;

/// <summary>
/// Starts the timer that settles a pending payment no later than its expiry (on AWS: one Step Functions
/// payment-timeout execution named after the MerchantTradeNo).
/// Contract: idempotent per MerchantTradeNo (a retry after a lost answer must not start a second timer);
/// returns only once the timer exists; throws when it may not exist. A timer whose transaction was never
/// committed is harmless: the timeout finds no pending transaction and ends.
/// </summary>
public interface IPaymentTimeoutScheduler
{
    Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct);
}

/// <summary>The default until the Timeouts service is wired in: records the intent in the log and schedules nothing.</summary>
public sealed partial class LoggingPaymentTimeoutScheduler(ILogger<LoggingPaymentTimeoutScheduler> log) : IPaymentTimeoutScheduler
{
    public Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct)
    {
        LogScheduled(log, timeout.MerchantTradeNo, timeout.TransactionId, timeout.ExpiresAt);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Payment timeout for {MerchantTradeNo} (transaction {TransactionId}) at {ExpiresAt:o} not scheduled: no scheduler configured")]
    private static partial void LogScheduled(ILogger logger, string merchantTradeNo, long transactionId, DateTimeOffset expiresAt);
}
