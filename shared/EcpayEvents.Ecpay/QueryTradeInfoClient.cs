using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace EcpayEvents.Ecpay;

/// <summary>Asks ECPay for an order's state (QueryTradeInfo/V5).</summary>
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
        PaymentResult trade;
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
    /// body — "2025%2F01%2F01+12%3A05%3A09" is a date — while <see cref="PaymentResult.Fields"/> stays the set
    /// that verifies, so a forwarded answer verifies again.
    /// </summary>
    private static PaymentResult TypedView(EcpayForm verified, EcpayForm? decoded)
    {
        if (decoded is null || ReferenceEquals(verified, decoded))
        {
            return PaymentResult.Parse(EcpayPostKind.QueryTradeInfo, verified);
        }
        try
        {
            return PaymentResult.Parse(EcpayPostKind.QueryTradeInfo, decoded) with { Fields = verified };
        }
        catch (EcpayPostException)
        {
            return PaymentResult.Parse(EcpayPostKind.QueryTradeInfo, verified);
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
