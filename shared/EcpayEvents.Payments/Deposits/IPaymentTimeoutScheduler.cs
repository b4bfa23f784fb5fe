using EcpayEvents.Messaging.StepFunctions;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Payments.Deposits;

/// <summary>
/// Starts the timer that settles a pending payment no later than its expiry (on AWS: one Step Functions
/// payment-timeout execution named after the MerchantTradeNo).
/// Contract: idempotent per MerchantTradeNo (a retry after a lost answer must not start a second timer);
/// returns only once the timer exists; throws when it may not exist. A timer whose transaction was never
/// committed (the deposit rolled back after scheduling) is harmless: at its expiry the execution finds no
/// such payment, confirms with ECPay that it never saw one, and ends (outcome <c>abandoned</c>); only if
/// ECPay knows the order does it end in NeedsReview for an operator.
/// </summary>
public interface IPaymentTimeoutScheduler
{
    Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct);
}

/// <summary>
/// <c>StepFunctions:Disabled=true</c> (development and tests only): records the intent in the log and schedules
/// nothing, so the deposit never expires. <c>ecpay-events timeouts audit</c> lists such payments and
/// <c>ecpay-events timeouts rearm</c> gives them a timer.
/// </summary>
public sealed partial class LoggingPaymentTimeoutScheduler(ILogger<LoggingPaymentTimeoutScheduler> log) : IPaymentTimeoutScheduler
{
    public Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct)
    {
        LogScheduled(log, timeout.MerchantTradeNo, timeout.TransactionId, timeout.ExpiresAt);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Payment timeout for {MerchantTradeNo} (transaction {TransactionId}) at {ExpiresAt:o} NOT scheduled: StepFunctions:Disabled=true (it will stay pending until rearmed)")]
    private static partial void LogScheduled(ILogger logger, string merchantTradeNo, long transactionId, DateTimeOffset expiresAt);
}
