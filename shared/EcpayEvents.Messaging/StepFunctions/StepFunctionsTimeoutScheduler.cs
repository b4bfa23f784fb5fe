using System.Net;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Payments.Timeouts;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Messaging.StepFunctions;

/// <summary>
/// The Step Functions <see cref="IPaymentTimeoutScheduler"/>: one execution named after the MerchantTradeNo. Execution
/// names are never reused, so an existing execution (running or finished) counts as scheduled and a retry cannot start a
/// second timer. Transient failures are retried a few times; anything else throws.
/// </summary>
public sealed partial class StepFunctionsTimeoutScheduler(StepFunctionsClient client, ILogger<StepFunctionsTimeoutScheduler> log) : IPaymentTimeoutScheduler
{
    public const int MaxAttempts = 3;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public async Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(timeout);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var scheduled = await client.StartOrFindExecutionAsync(timeout.MerchantTradeNo, timeout.ToJson(), ct);
                if (scheduled.AlreadyScheduled)
                    LogAlreadyScheduled(log, timeout.MerchantTradeNo, timeout.TransactionId, scheduled.ExecutionArn);
                else
                    LogScheduled(log, timeout.MerchantTradeNo, timeout.TransactionId, timeout.ExpiresAt, scheduled.ExecutionArn);
                return;
            }
            catch (Exception e) when (attempt < MaxAttempts && IsTransient(e, ct))
            {
                LogRetrying(log, timeout.MerchantTradeNo, attempt, e.Message);
                await Task.Delay(RetryDelay * attempt, ct);
            }
        }
    }

    /// <summary>Worth another try: the request may not have arrived, or Step Functions asked us to slow down.</summary>
    public static bool IsTransient(Exception e, CancellationToken ct) => e switch
    {
        HttpRequestException => true,
        TaskCanceledException when !ct.IsCancellationRequested => true, // HttpClient.Timeout
        StepFunctionsException s => s.ErrorCode == StepFunctionsErrorCodes.ThrottlingException
            || s.StatusCode >= HttpStatusCode.InternalServerError,
        _ => false,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Payment timeout for {MerchantTradeNo} (transaction {TransactionId}) at {ExpiresAt:o} scheduled: {ExecutionArn}")]
    private static partial void LogScheduled(ILogger logger, string merchantTradeNo, long transactionId, DateTimeOffset expiresAt, string executionArn);

    [LoggerMessage(Level = LogLevel.Information, Message = "Payment timeout for {MerchantTradeNo} (transaction {TransactionId}) was already scheduled: {ExecutionArn}")]
    private static partial void LogAlreadyScheduled(ILogger logger, string merchantTradeNo, long transactionId, string executionArn);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduling the payment timeout for {MerchantTradeNo} failed (attempt {Attempt}), retrying: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string merchantTradeNo, int attempt, string reason);
}
