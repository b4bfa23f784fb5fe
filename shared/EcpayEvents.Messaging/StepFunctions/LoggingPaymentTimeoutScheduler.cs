using EcpayEvents.Payments.Deposits;
using EcpayEvents.Payments.Timeouts;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Messaging.StepFunctions;

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
