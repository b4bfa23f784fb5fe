using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace EcpayEvents.Ecpay;

public static class QueryTradeInfoServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="QueryTradeInfoClient"/> with a standard resilience handler tuned for ECPay:
    /// bounded attempt and total timeouts, a few retries with exponential back-off and jitter on
    /// transport errors, timeouts and 5xx — and none on 403, which means ECPay is throttling us
    /// (a 30-minute block that more requests would prolong); that surfaces as <see cref="QueryTradeInfoResult.Throttled"/>,
    /// and for <see cref="QueryTradeInfoOptions.ThrottleCoolDown"/> afterwards every call answers Throttled without
    /// a request (the cool-down is a singleton <see cref="QueryTradeInfoThrottle"/>, shared by the service).
    /// </summary>
    public static IHttpClientBuilder AddEcpayQueryTradeInfoClient(this IServiceCollection services, Action<QueryTradeInfoOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<QueryTradeInfoThrottle>();
        services.AddOptions<QueryTradeInfoOptions>()
            .Configure(configure)
            .Validate(o => o.Credentials is not null, "QueryTradeInfoOptions.Credentials is required.")
            .Validate(o => o.AttemptTimeout > TimeSpan.Zero && o.TotalTimeout >= o.AttemptTimeout, "QueryTradeInfoOptions: need 0 < AttemptTimeout <= TotalTimeout.")
            .Validate(o => o.MaxRetries >= 0, "QueryTradeInfoOptions.MaxRetries must not be negative.")
            .Validate(o => o.RetryDelay >= TimeSpan.Zero, "QueryTradeInfoOptions.RetryDelay must not be negative.")
            .Validate(o => o.ThrottleCoolDown >= TimeSpan.Zero, "QueryTradeInfoOptions.ThrottleCoolDown must not be negative.")
            .ValidateOnStart();

        var builder = services.AddHttpClient<QueryTradeInfoClient>((sp, http) =>
        {
            // The resilience pipeline owns timeouts; HttpClient's own is only a backstop.
            var o = sp.GetRequiredService<IOptions<QueryTradeInfoOptions>>().Value;
            http.Timeout = o.TotalTimeout + TimeSpan.FromSeconds(5);
        });
        builder.AddStandardResilienceHandler().Configure((resilience, sp) =>
        {
            var o = sp.GetRequiredService<IOptions<QueryTradeInfoOptions>>().Value;
            resilience.AttemptTimeout.Timeout = o.AttemptTimeout;
            resilience.TotalRequestTimeout.Timeout = o.TotalTimeout;
            // Polly takes at least one retry; MaxRetries = 0 is honoured by ShouldHandle below.
            resilience.Retry.MaxRetryAttempts = Math.Max(1, o.MaxRetries);
            resilience.Retry.Delay = o.RetryDelay;
            resilience.Retry.BackoffType = DelayBackoffType.Exponential;
            resilience.Retry.UseJitter = true;
            // Retry-After is not something ECPay sends; never let a header stretch the back-off.
            resilience.Retry.ShouldRetryAfterHeader = false;
            // QueryTradeInfo is a read-only query even though it is a POST, so retrying it is safe.
            // Transient = transport errors, attempt timeouts, 408, 429 and 5xx; a 403 is not retried.
            resilience.Retry.ShouldHandle = args => ValueTask.FromResult(
                o.MaxRetries > 0
                && args.Outcome.Result?.StatusCode != HttpStatusCode.Forbidden
                && HttpClientResiliencePredicates.IsTransient(args.Outcome));
            // The breaker's sampling window must be at least twice the attempt timeout.
            var sampling = o.AttemptTimeout * 2;
            if (resilience.CircuitBreaker.SamplingDuration < sampling)
            {
                resilience.CircuitBreaker.SamplingDuration = sampling;
            }
        });
        return builder;
    }
}
