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

    /// <summary>
    /// HTTP 403: ECPay blocks a merchant that queries too often (~30 minutes). Back off; do not retry soon.
    /// After a 403 the client remembers the block for <see cref="QueryTradeInfoOptions.ThrottleCoolDown"/> and
    /// answers this without calling ECPay (<see cref="WithoutRequest"/>), since every request would prolong it.
    /// </summary>
    public sealed record Throttled(string Body) : QueryTradeInfoResult
    {
        /// <summary>When this process will ask ECPay again (null: no cool-down configured).</summary>
        public DateTimeOffset? CoolDownUntil { get; init; }

        /// <summary>True when ECPay was not called: an earlier 403's cool-down is still running. <see cref="Body"/> is that 403's body.</summary>
        public bool WithoutRequest { get; init; }
    }

    /// <summary>Any other non-2xx status (after retries for 5xx).</summary>
    public sealed record HttpFailed(int StatusCode, string Body) : QueryTradeInfoResult;

    /// <summary>The answer carries a CheckMacValue that does not match: tampered, wrong keys, or an encoding mismatch.</summary>
    public sealed record MacMismatch(string Body, string Expected, string Received) : QueryTradeInfoResult;

    /// <summary>An answer without CheckMacValue: ECPay reporting an error (bad parameters, wrong MAC on our request…).</summary>
    public sealed record EcpayError(string Body, EcpayForm? Fields) : QueryTradeInfoResult
    {
        /// <summary>RtnMsg / message text when the body is a form, else the body itself.</summary>
        public string Message => Fields?["RtnMsg"] ?? Fields?["Message"] ?? Body;

        /// <summary>ECPay's code for the error: RtnCode, else TradeStatus, when the body is a form carrying one; null otherwise.</summary>
        public string? Code => NonEmpty(Fields?["RtnCode"]) ?? NonEmpty(Fields?["TradeStatus"]);

        private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    /// <summary>Signed, but not a valid answer to our question (missing/invalid fields, another order's number).</summary>
    public sealed record Malformed(string Reason, string Body) : QueryTradeInfoResult;
}

public sealed class QueryTradeInfoOptions
{
    public EcpayUrls Endpoints { get; set; } = EcpayUrls.Stage;
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
    /// <summary>
    /// After a 403, how long this process answers <see cref="QueryTradeInfoResult.Throttled"/> without calling
    /// ECPay. ECPay's block lasts about 30 minutes (protocol notes §5) and more requests would prolong it.
    /// Zero turns the cool-down off.
    /// </summary>
    public TimeSpan ThrottleCoolDown { get; set; } = TimeSpan.FromMinutes(30);
}

/// <summary>
/// The in-process memory of ECPay's 403 block, shared by every <see cref="QueryTradeInfoClient"/> of a
/// service (a singleton: the typed HttpClient itself is transient). Thread-safe.
/// </summary>
public sealed class QueryTradeInfoThrottle
{
    private readonly Lock _lock = new();
    private DateTimeOffset _until = DateTimeOffset.MinValue;
    private string _body = "";

    /// <summary>The end of the current cool-down, or null when there is none at <paramref name="now"/>.</summary>
    public DateTimeOffset? CoolDownUntil(DateTimeOffset now)
    {
        lock (_lock)
        {
            return now < _until ? _until : null;
        }
    }

    internal bool TryGetCoolDown(DateTimeOffset now, out DateTimeOffset until, out string body)
    {
        lock (_lock)
        {
            (until, body) = (_until, _body);
            return now < _until;
        }
    }

    /// <summary>Starts (or extends, never shortens) the cool-down.</summary>
    internal void Block(DateTimeOffset until, string body)
    {
        lock (_lock)
        {
            if (until > _until)
            {
                (_until, _body) = (until, body);
            }
        }
    }

    /// <summary>Ends the cool-down now (an operator knows the block is over).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            (_until, _body) = (DateTimeOffset.MinValue, "");
        }
    }
}

/// <summary>Asks ECPay for an order's state (protocol notes §5).</summary>
public sealed class QueryTradeInfoClient
{
    private readonly HttpClient _http;
    private readonly QueryTradeInfoOptions _options;
    private readonly EcpayCredentials _credentials;
    private readonly TimeProvider _time;
    private readonly QueryTradeInfoThrottle _throttle;

    [ActivatorUtilitiesConstructor]
    public QueryTradeInfoClient(HttpClient http, IOptions<QueryTradeInfoOptions> options, TimeProvider time, QueryTradeInfoThrottle throttle)
        : this(http, options.Value, time, throttle)
    {
    }

    /// <summary>
    /// Use the HttpClient from <see cref="QueryTradeInfoServiceCollectionExtensions.AddEcpayQueryTradeInfoClient"/> for retries and timeouts.
    /// Without <paramref name="throttle"/> the 403 cool-down is this instance's own.
    /// </summary>
    public QueryTradeInfoClient(HttpClient http, QueryTradeInfoOptions options, TimeProvider time, QueryTradeInfoThrottle? throttle = null)
    {
        _http = http;
        _options = options;
        _credentials = options.Credentials ?? throw new ArgumentException("QueryTradeInfoOptions.Credentials is required.", nameof(options));
        _time = time;
        _throttle = throttle ?? new QueryTradeInfoThrottle();
    }

    public async Task<QueryTradeInfoResult> QueryAsync(string merchantTradeNo, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(merchantTradeNo);
        if (merchantTradeNo.Length > 20 || !merchantTradeNo.All(char.IsAsciiLetterOrDigit))
        {
            throw new ArgumentException("MerchantTradeNo must be 1–20 ASCII letters or digits.", nameof(merchantTradeNo));
        }
        if (_throttle.TryGetCoolDown(_time.GetUtcNow(), out var blockedUntil, out var blockedBody))
        {
            return new QueryTradeInfoResult.Throttled(blockedBody) { CoolDownUntil = blockedUntil, WithoutRequest = true };
        }
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
        // Sign refuses a separator in any field (PlatformID is the caller's setting).
        fields.Add(new(CheckMacValue.FieldName, CheckMacValue.Sign(fields, _credentials)));

        HttpResponseMessage? response = null;
        string body;
        var read = false;
        try
        {
            using var content = new FormUrlEncodedContent(fields);
            response = await _http.PostAsync(_options.Endpoints.QueryTradeInfoUrl, content, cancellationToken).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            read = true;
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
        finally
        {
            // The response was received but its body could not be read (or the call was cancelled): release the connection.
            if (!read)
            {
                response?.Dispose();
            }
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.Forbidden)
            {
                if (_options.ThrottleCoolDown <= TimeSpan.Zero)
                {
                    return new QueryTradeInfoResult.Throttled(body);
                }
                var until = _time.GetUtcNow() + _options.ThrottleCoolDown;
                _throttle.Block(until, body);
                return new QueryTradeInfoResult.Throttled(body) { CoolDownUntil = until };
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
            trade = TypedView(verified, decoded);
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

    /// <summary>
    /// The typed view of a verified answer. When only the undecoded split verified (ECPay signed the values
    /// as they appear in the body), the typed values still come from the percent-decoded fields of that same
    /// body — "2025%2F01%2F01+12%3A05%3A09" is a date — while <see cref="TradeInfo.Fields"/> stays the set
    /// that verifies, so a forwarded answer verifies again.
    /// </summary>
    private static TradeInfo TypedView(EcpayForm verified, EcpayForm? decoded)
    {
        if (decoded is null || ReferenceEquals(verified, decoded))
        {
            return TradeInfo.FromVerifiedFields(verified);
        }
        try
        {
            return TradeInfo.FromVerifiedFields(decoded) with { Fields = verified };
        }
        catch (EcpayPostException)
        {
            return TradeInfo.FromVerifiedFields(verified);
        }
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
