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

/// <summary>TradeStatus of a QueryTradeInfo answer. Only <see cref="Paid"/> means money arrived.</summary>
public enum TradeStatus
{
    /// <summary>0: created, not paid (yet).</summary>
    Unpaid,
    /// <summary>1: paid.</summary>
    Paid,
    /// <summary>10200095: the customer never chose a payment method; the order failed.</summary>
    NeverChosePaymentMethod,
    /// <summary>10200047: ECPay does not know the order.</summary>
    NotFound,
    /// <summary>Any other code: ask again later; never treat as paid.</summary>
    Unknown,
}

/// <summary>A verified QueryTradeInfo answer: the raw fields (for forwarding) and typed views of them.</summary>
public sealed record TradeInfo
{
    /// <summary>Every field of the answer as decoded, CheckMacValue included — forward these, not the typed values.</summary>
    public required EcpayForm Fields { get; init; }
    public required TradeStatus Status { get; init; }
    /// <summary>The TradeStatus code exactly as ECPay sent it.</summary>
    public required string TradeStatusCode { get; init; }
    public required string MerchantId { get; init; }
    public required string MerchantTradeNo { get; init; }
    public string StoreId { get; init; } = "";
    public string TradeNo { get; init; } = "";
    public long? TradeAmt { get; init; }
    public DateTimeOffset? PaymentDate { get; init; }
    public string PaymentType { get; init; } = "";
    public decimal? HandlingCharge { get; init; }
    public decimal? PaymentTypeChargeFee { get; init; }
    public DateTimeOffset? TradeDate { get; init; }
    public string ItemName { get; init; } = "";
    public string CustomField1 { get; init; } = "";
    public string CustomField2 { get; init; } = "";
    public string CustomField3 { get; init; } = "";
    public string CustomField4 { get; init; } = "";

    public static TradeStatus MapStatus(string code) => code switch
    {
        "1" => TradeStatus.Paid,
        "0" => TradeStatus.Unpaid,
        "10200095" => TradeStatus.NeverChosePaymentMethod,
        "10200047" => TradeStatus.NotFound,
        _ => TradeStatus.Unknown,
    };

    /// <summary>Typed view of answer fields whose MAC has already been verified.</summary>
    public static TradeInfo FromVerifiedFields(EcpayForm fields)
    {
        var r = new FieldReader(fields);
        var code = r.Required("TradeStatus");
        var status = MapStatus(code);
        var tradeAmt = r.OptionalAmount("TradeAmt");
        if (status == TradeStatus.Paid && tradeAmt is null)
        {
            throw new EcpayPostException("TradeAmt", "A paid answer must carry TradeAmt.");
        }
        return new TradeInfo
        {
            Fields = fields,
            Status = status,
            TradeStatusCode = code,
            MerchantId = r.Optional("MerchantID"),
            MerchantTradeNo = r.Optional("MerchantTradeNo"),
            StoreId = r.Optional("StoreID"),
            TradeNo = r.Optional("TradeNo"),
            TradeAmt = tradeAmt,
            PaymentDate = r.OptionalDate("PaymentDate"),
            PaymentType = r.Optional("PaymentType"),
            HandlingCharge = r.OptionalDecimal("HandlingCharge"),
            PaymentTypeChargeFee = r.OptionalDecimal("PaymentTypeChargeFee"),
            TradeDate = r.OptionalDate("TradeDate"),
            ItemName = r.Optional("ItemName"),
            CustomField1 = r.Optional("CustomField1"),
            CustomField2 = r.Optional("CustomField2"),
            CustomField3 = r.Optional("CustomField3"),
            CustomField4 = r.Optional("CustomField4"),
        };
    }
}

/// <summary>
/// What a QueryTradeInfo call came to. A result type rather than exceptions, because every outcome is
/// expected in normal operation and callers must handle each: switch over the cases.
/// Only <see cref="Answered"/> carries information about the trade.
/// </summary>
public abstract record QueryTradeInfoResult
{
    private QueryTradeInfoResult() { }

    /// <summary>ECPay answered and the CheckMacValue is valid.</summary>
    public sealed record Answered(TradeInfo Trade) : QueryTradeInfoResult;

    /// <summary>Connection refused/reset, DNS, TLS… after the retries.</summary>
    public sealed record TransportFailed(string Reason) : QueryTradeInfoResult;

    /// <summary>No answer within the attempt/total timeouts.</summary>
    public sealed record TimedOut(string Reason) : QueryTradeInfoResult;

    /// <summary>HTTP 403: ECPay blocks a merchant that queries too often (~30 minutes). Back off; do not retry soon.</summary>
    public sealed record Throttled(string Body) : QueryTradeInfoResult;

    /// <summary>Any other non-2xx status (after retries for 5xx).</summary>
    public sealed record HttpFailed(int StatusCode, string Body) : QueryTradeInfoResult;

    /// <summary>The answer carries a CheckMacValue that does not match: tampered, wrong keys, or an encoding mismatch.</summary>
    public sealed record MacMismatch(string Body, string Expected, string Received) : QueryTradeInfoResult;

    /// <summary>An answer without CheckMacValue: ECPay reporting an error (bad parameters, wrong MAC on our request…).</summary>
    public sealed record EcpayError(string Body, EcpayForm? Fields) : QueryTradeInfoResult
    {
        /// <summary>RtnMsg / message text when the body is a form, else the body itself.</summary>
        public string Message => Fields?["RtnMsg"] ?? Fields?["Message"] ?? Body;
    }

    /// <summary>Signed, but not a valid answer to our question (missing/invalid fields, another order's number).</summary>
    public sealed record Malformed(string Reason, string Body) : QueryTradeInfoResult;
}

public sealed class QueryTradeInfoOptions
{
    public EcpayEndpoints Endpoints { get; set; } = EcpayEndpoints.Stage;
    public EcpayCredentials? Credentials { get; set; }
    public string? PlatformId { get; set; }
    /// <summary>Per attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>All attempts and back-off together.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(20);
    /// <summary>Retries on transport errors, timeouts and 5xx (never on 403).</summary>
    public int MaxRetries { get; set; } = 2;
    /// <summary>First back-off delay; exponential with jitter after that.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Asks ECPay for an order's state (protocol notes §5).</summary>
public sealed class QueryTradeInfoClient
{
    private readonly HttpClient _http;
    private readonly QueryTradeInfoOptions _options;
    private readonly EcpayCredentials _credentials;
    private readonly TimeProvider _time;

    [ActivatorUtilitiesConstructor]
    public QueryTradeInfoClient(HttpClient http, IOptions<QueryTradeInfoOptions> options, TimeProvider time)
        : this(http, options.Value, time)
    {
    }

    /// <summary>Use the HttpClient from <see cref="QueryTradeInfoServiceCollectionExtensions.AddEcpayQueryTradeInfoClient"/> for retries and timeouts.</summary>
    public QueryTradeInfoClient(HttpClient http, QueryTradeInfoOptions options, TimeProvider time)
    {
        _http = http;
        _options = options;
        _credentials = options.Credentials ?? throw new ArgumentException("QueryTradeInfoOptions.Credentials is required.", nameof(options));
        _time = time;
    }

    public async Task<QueryTradeInfoResult> QueryAsync(string merchantTradeNo, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(merchantTradeNo);
        // TimeStamp is valid ~3 minutes: computed per call, never cached.
        var fields = new List<KeyValuePair<string, string>>
        {
            new("MerchantID", _credentials.MerchantId),
            new("MerchantTradeNo", merchantTradeNo),
            new("TimeStamp", _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        };
        if (!string.IsNullOrEmpty(_options.PlatformId))
        {
            fields.Add(new("PlatformID", _options.PlatformId));
        }
        fields.Add(new(CheckMacValue.FieldName, CheckMacValue.Compute(fields, _credentials.HashKey, _credentials.HashIv)));

        HttpResponseMessage response;
        string body;
        try
        {
            using var content = new FormUrlEncodedContent(fields);
            response = await _http.PostAsync(_options.Endpoints.QueryTradeInfoUrl, content, cancellationToken).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            return new QueryTradeInfoResult.TimedOut(e.Message);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout, when used without the resilience handler.
            return new QueryTradeInfoResult.TimedOut(e.Message);
        }
        catch (HttpRequestException e)
        {
            return new QueryTradeInfoResult.TransportFailed(e.Message);
        }
        catch (BrokenCircuitException e)
        {
            return new QueryTradeInfoResult.TransportFailed("Circuit open after repeated failures: " + e.Message);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.Forbidden)
            {
                return new QueryTradeInfoResult.Throttled(body);
            }
            if (!response.IsSuccessStatusCode)
            {
                return new QueryTradeInfoResult.HttpFailed((int)response.StatusCode, body);
            }
        }
        return Interpret(body, merchantTradeNo, _credentials);
    }

    /// <summary>Decodes and verifies an answer body. Public so the sandbox and tests can reuse the exact rules.</summary>
    public static QueryTradeInfoResult Interpret(string body, string merchantTradeNo, EcpayCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(body);
        var trimmed = body.Trim();
        // Whether ECPay percent-encodes values is unconfirmed: decode first (as integrations do); if that
        // does not verify, try the values exactly as sent.
        EcpayForm.TryParse(trimmed, out var decoded, out _);
        var raw = SplitWithoutDecoding(trimmed);
        var candidates = new[] { decoded, raw }.OfType<EcpayForm>().ToList();
        var signed = candidates.FirstOrDefault(c => c.Contains(CheckMacValue.FieldName));
        if (signed is null)
        {
            return new QueryTradeInfoResult.EcpayError(body, decoded ?? raw);
        }
        var verified = candidates.FirstOrDefault(c => CheckMacValue.Verify(c, credentials.HashKey, credentials.HashIv));
        if (verified is null)
        {
            return new QueryTradeInfoResult.MacMismatch(
                body,
                CheckMacValue.Compute(signed, credentials.HashKey, credentials.HashIv),
                signed[CheckMacValue.FieldName] ?? "");
        }
        TradeInfo trade;
        try
        {
            trade = TradeInfo.FromVerifiedFields(verified);
        }
        catch (EcpayPostException e)
        {
            return new QueryTradeInfoResult.Malformed(e.Message, body);
        }
        if (trade.MerchantTradeNo.Length > 0 && trade.MerchantTradeNo != merchantTradeNo)
        {
            return new QueryTradeInfoResult.Malformed($"Answer is about MerchantTradeNo '{trade.MerchantTradeNo}', not '{merchantTradeNo}'.", body);
        }
        if (trade.MerchantId.Length > 0 && trade.MerchantId != credentials.MerchantId)
        {
            return new QueryTradeInfoResult.Malformed($"Answer is for MerchantID '{trade.MerchantId}', not '{credentials.MerchantId}'.", body);
        }
        if (trade.Status == TradeStatus.Paid && trade.MerchantTradeNo.Length == 0)
        {
            return new QueryTradeInfoResult.Malformed("A paid answer must name the MerchantTradeNo.", body);
        }
        return new QueryTradeInfoResult.Answered(trade);
    }

    private static EcpayForm? SplitWithoutDecoding(string body)
    {
        if (body.Length == 0)
        {
            return null;
        }
        try
        {
            return EcpayForm.FromFields(body.Split('&').Select(s =>
            {
                var eq = s.IndexOf('=');
                return eq < 0 ? new KeyValuePair<string, string>(s, "") : new(s[..eq], s[(eq + 1)..]);
            }));
        }
        catch (EcpayFormException)
        {
            return null;
        }
    }
}

public static class QueryTradeInfoServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="QueryTradeInfoClient"/> with a standard resilience handler tuned for ECPay:
    /// bounded attempt and total timeouts, a few retries with exponential back-off and jitter on
    /// transport errors, timeouts and 5xx — and none on 403, which means ECPay is throttling us
    /// (a 30-minute block that more requests would prolong); that surfaces as <see cref="QueryTradeInfoResult.Throttled"/>.
    /// </summary>
    public static IHttpClientBuilder AddEcpayQueryTradeInfoClient(this IServiceCollection services, Action<QueryTradeInfoOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<QueryTradeInfoOptions>()
            .Configure(configure)
            .Validate(o => o.Credentials is not null, "QueryTradeInfoOptions.Credentials is required.")
            .Validate(o => o.AttemptTimeout > TimeSpan.Zero && o.TotalTimeout >= o.AttemptTimeout, "QueryTradeInfoOptions: need 0 < AttemptTimeout <= TotalTimeout.")
            .Validate(o => o.MaxRetries >= 0, "QueryTradeInfoOptions.MaxRetries must not be negative.")
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
            resilience.Retry.MaxRetryAttempts = o.MaxRetries;
            resilience.Retry.Delay = o.RetryDelay;
            resilience.Retry.BackoffType = DelayBackoffType.Exponential;
            resilience.Retry.UseJitter = true;
            // Retry-After is not something ECPay sends; never let a header stretch the back-off.
            resilience.Retry.ShouldRetryAfterHeader = false;
            // QueryTradeInfo is a read-only query even though it is a POST, so retrying it is safe.
            // Transient = transport errors, attempt timeouts, 408, 429 and 5xx; a 403 is not retried.
            resilience.Retry.ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Result?.StatusCode != HttpStatusCode.Forbidden
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
