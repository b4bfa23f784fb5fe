using System.Net;
using EcpayEvents.Messaging.StepFunctions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Payments.Deposits;

/// <summary>
/// Schedules a payment's timeout as one payment-timeout execution named after its MerchantTradeNo.
/// Idempotent: execution names are never reused, so a retry (ours, the caller's, or the
/// <c>ecpay-events timeouts reschedule</c> sweeper's) cannot start a second timer for a payment —
/// an existing execution, running or finished, counts as scheduled.
/// Transient failures are retried a few times within the request; anything else throws, and the
/// caller must not leave the payment pending without a timer.
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

public static class PaymentTimeoutsServiceCollectionExtensions
{
    /// <summary>
    /// With <c>StepFunctions:StateMachineArn</c> configured, payment timeouts are Step Functions executions
    /// (<c>StepFunctions:ServiceUrl</c> for the local server, <c>StepFunctions:Region</c> optional; AWS
    /// credentials from the SDK chain). Without it, the <see cref="LoggingPaymentTimeoutScheduler"/> (dev only:
    /// nothing would ever expire). Replaces any scheduler registered before.
    /// </summary>
    public static IServiceCollection AddPaymentTimeouts(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var stateMachineArn = configuration["StepFunctions:StateMachineArn"];
        if (string.IsNullOrWhiteSpace(stateMachineArn))
        {
            services.TryAddSingleton<IPaymentTimeoutScheduler, LoggingPaymentTimeoutScheduler>();
            return services;
        }

        var serviceUrl = configuration["StepFunctions:ServiceUrl"];
        Uri? endpoint = null;
        if (!string.IsNullOrWhiteSpace(serviceUrl) && !Uri.TryCreate(serviceUrl, UriKind.Absolute, out endpoint))
            throw new InvalidOperationException($"StepFunctions:ServiceUrl '{serviceUrl}' is not an absolute URL.");
        var options = new StepFunctionsClientOptions
        {
            ServiceUrl = endpoint,
            Region = configuration["StepFunctions:Region"],
            StateMachineArn = stateMachineArn,
        };
        // One client per process; pooled connections are recycled so DNS changes are seen.
        services.TryAddSingleton(_ => new StepFunctionsClient(
            new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(3) },
            options));
        services.Replace(ServiceDescriptor.Singleton<IPaymentTimeoutScheduler, StepFunctionsTimeoutScheduler>());
        return services;
    }
}
