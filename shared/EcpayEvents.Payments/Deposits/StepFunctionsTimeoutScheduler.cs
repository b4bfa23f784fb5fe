using System.Net;
using EcpayEvents.Messaging.StepFunctions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EcpayEvents.Payments.Deposits;

/// <summary>
/// Schedules a payment's timeout as one payment-timeout execution named after its MerchantTradeNo.
/// Idempotent: execution names are never reused, so a retry (ours or the caller's) cannot start a second
/// timer for a payment — an existing execution, running or finished, counts as scheduled. A pending payment
/// whose timer is gone (NeedsReview, stopped by an operator, created while scheduling was disabled) is found
/// by <c>ecpay-events timeouts audit</c> and given a new execution, <c>&lt;MerchantTradeNo&gt;-r&lt;n&gt;</c>, by
/// <c>ecpay-events timeouts rearm</c>.
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

/// <summary>
/// The <c>StepFunctions</c> section, validated at start (<see cref="PaymentTimeoutsOptionsValidator"/>):
/// either a state machine to schedule in, or the explicit, development-only <see cref="Disabled"/>.
/// </summary>
public sealed class PaymentTimeoutsOptions
{
    public const string Section = "StepFunctions";

    /// <summary><c>StepFunctions:StateMachineArn</c>: the payment-timeout state machine (on AWS the template's PaymentTimeoutStateMachine).</summary>
    public string? StateMachineArn { get; set; }

    /// <summary><c>StepFunctions:ServiceUrl</c>: endpoint override, e.g. the local server http://127.0.0.1:4584.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary><c>StepFunctions:Region</c>: default, the AWS SDK's region chain (AWS_REGION, profile).</summary>
    public string? Region { get; set; }

    /// <summary>
    /// <c>StepFunctions:Disabled</c> as configured ("true"/"false"). True: schedule nothing, only log (development and
    /// tests only — no deposit would ever expire). Never together with a state machine ARN.
    /// </summary>
    public string? Disabled { get; set; }

    public bool IsDisabled => bool.TryParse(Disabled, out var disabled) && disabled;

    public StepFunctionsClientOptions ClientOptions() => new()
    {
        ServiceUrl = string.IsNullOrWhiteSpace(ServiceUrl) ? null : new Uri(ServiceUrl, UriKind.Absolute),
        Region = string.IsNullOrWhiteSpace(Region) ? null : Region,
        StateMachineArn = StateMachineArn,
    };

    internal static PaymentTimeoutsOptions From(IConfiguration configuration) => new()
    {
        StateMachineArn = configuration[$"{Section}:StateMachineArn"],
        ServiceUrl = configuration[$"{Section}:ServiceUrl"],
        Region = configuration[$"{Section}:Region"],
        Disabled = configuration[$"{Section}:Disabled"],
    };
}

/// <summary>A pending payment without a timer stays pending forever, so a missing state machine stops the service at start.</summary>
public sealed class PaymentTimeoutsOptionsValidator : IValidateOptions<PaymentTimeoutsOptions>
{
    public ValidateOptionsResult Validate(string? name, PaymentTimeoutsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        var hasArn = !string.IsNullOrWhiteSpace(options.StateMachineArn);
        bool disabled = false;
        if (!string.IsNullOrWhiteSpace(options.Disabled) && !bool.TryParse(options.Disabled, out disabled))
            problems.Add($"StepFunctions:Disabled must be true or false, not '{options.Disabled}'.");
        if (disabled && hasArn)
            problems.Add("StepFunctions:Disabled=true and StepFunctions:StateMachineArn are both set: remove one (Disabled is for development and tests only).");
        else if (!disabled && !hasArn)
            problems.Add("StepFunctions:StateMachineArn is required: every deposit starts its payment-timeout execution there, and without it no pending payment would ever expire. "
                + "Set it (env StepFunctions__StateMachineArn), or StepFunctions:Disabled=true in development and tests only.");
        if (hasArn && !IsStateMachineArn(options.StateMachineArn!))
            problems.Add($"StepFunctions:StateMachineArn '{options.StateMachineArn}' is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME).");
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl)
            && !(Uri.TryCreate(options.ServiceUrl, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)))
            problems.Add($"StepFunctions:ServiceUrl '{options.ServiceUrl}' is not an absolute http(s) URL.");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static bool IsStateMachineArn(string arn)
    {
        var parts = arn.Split(':');
        return parts.Length == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "stateMachine" && parts[6].Length > 0;
    }
}

/// <summary>
/// Checks the <c>StepFunctions</c> settings when the host starts — after the service's own settings, so their
/// errors come first — and warns loudly when scheduling is disabled.
/// </summary>
public sealed partial class PaymentTimeoutsStartupCheck(IOptions<PaymentTimeoutsOptions> options, ILogger<PaymentTimeoutsStartupCheck> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value; // throws OptionsValidationException naming the setting
        if (settings.IsDisabled)
            LogDisabled(log);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "StepFunctions:Disabled=true: deposits get NO payment timeout and unpaid ones stay pending forever. Development and tests only; in production set StepFunctions:StateMachineArn.")]
    private static partial void LogDisabled(ILogger logger);
}

public static class PaymentTimeoutsServiceCollectionExtensions
{
    /// <summary>
    /// Payment timeouts as Step Functions executions of <c>StepFunctions:StateMachineArn</c>
    /// (<c>StepFunctions:ServiceUrl</c> for the local server, <c>StepFunctions:Region</c> optional; AWS
    /// credentials from the SDK chain). Without an ARN the service does not start, unless
    /// <c>StepFunctions:Disabled=true</c> (development and tests only: the <see cref="LoggingPaymentTimeoutScheduler"/>,
    /// nothing ever expires; a warning at start). Replaces any scheduler registered before.
    /// </summary>
    public static IServiceCollection AddPaymentTimeouts(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = PaymentTimeoutsOptions.From(configuration);
        services.AddOptions<PaymentTimeoutsOptions>().Configure(o =>
        {
            o.StateMachineArn = configured.StateMachineArn;
            o.ServiceUrl = configured.ServiceUrl;
            o.Region = configured.Region;
            o.Disabled = configured.Disabled;
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PaymentTimeoutsOptions>, PaymentTimeoutsOptionsValidator>());
        services.AddHostedService<PaymentTimeoutsStartupCheck>();

        // One client per process; pooled connections are recycled so DNS changes are seen.
        services.TryAddSingleton(sp => new StepFunctionsClient(
            new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(3) },
            sp.GetRequiredService<IOptions<PaymentTimeoutsOptions>>().Value.ClientOptions()));
        services.Replace(ServiceDescriptor.Singleton<IPaymentTimeoutScheduler>(sp =>
            sp.GetRequiredService<IOptions<PaymentTimeoutsOptions>>().Value.IsDisabled
                ? new LoggingPaymentTimeoutScheduler(sp.GetRequiredService<ILogger<LoggingPaymentTimeoutScheduler>>())
                : new StepFunctionsTimeoutScheduler(sp.GetRequiredService<StepFunctionsClient>(), sp.GetRequiredService<ILogger<StepFunctionsTimeoutScheduler>>())));
        return services;
    }
}
